// Choosing a power limit from a profile, and reading profiles in Zeus' format.
#include "optimize/power_limit_choice.hpp"

#include <gtest/gtest.h>

#include "optimize/power_limit_profile.hpp"

namespace carbonmeter {
namespace {

// Per limit (W): energy J and time s. Costs for eta 0.5 with P_max = 300 W:
// 300: 150+1500=1650, 250: 130+1575=1705, 200: 110+1800=1910, 150: 100+2400=2500.
PowerLimitProfile profile_w() {
  return {{{300, 300, 10}, {250, 260, 10.5}, {200, 220, 12}, {150, 200, 16}}, false};
}

double chosen(const PowerLimitProfile& profile, PowerLimitObjective objective, int gpus = 1) {
  auto choice = choose_power_limit(profile, objective, gpus);
  EXPECT_TRUE(choice) << (choice ? "" : choice.error().message);
  return choice ? profile.measurements[choice.value().index].power_limit : -1;
}

TEST(PowerLimitChoice, EtaTradesEnergyAgainstTimeAtTheHighestLimitsPower) {
  using K = PowerLimitObjective::Kind;
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.0}), 300);   // time only
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.5}), 300);   // 1650 < 1705
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.99}), 150);  // energy almost only
  EXPECT_EQ(chosen(profile_w(), {K::eta, 1.0}), 150);
  // eta 0.9: 300: 270+300=570, 250: 234+315=549, 200: 198+360=558, 150: 180+480=660.
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.9}), 250);
  auto choice = choose_power_limit(profile_w(), {K::eta, 0.9});
  ASSERT_TRUE(choice);
  EXPECT_DOUBLE_EQ(choice.value().cost, 549.0);
  // Two GPUs double P_max: time weighs more. eta 0.9: 300: 270+600=870, 250: 234+630=864, 200: 198+720.
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.9}, 2), 250);
  // eta 0.95: one GPU (15 T): 435, 404.5, 389, 430 -> 200 W; four GPUs (60 T): 885, 877, 929, 1150 -> 250 W.
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.95}), 200);
  EXPECT_EQ(chosen(profile_w(), {K::eta, 0.95}, 4), 250);
}

TEST(PowerLimitChoice, MaxSlowdownIsTheLeastEnergyWithinTheFactor) {
  using K = PowerLimitObjective::Kind;
  EXPECT_EQ(chosen(profile_w(), {K::max_slowdown, 1.0}), 300);
  EXPECT_EQ(chosen(profile_w(), {K::max_slowdown, 1.1}), 250);
  EXPECT_EQ(chosen(profile_w(), {K::max_slowdown, 1.2}), 200);  // 12 s is exactly 1.2 x 10 s
  EXPECT_EQ(chosen(profile_w(), {K::max_slowdown, 2.0}), 150);
  auto choice = choose_power_limit(profile_w(), {K::max_slowdown, 1.1});
  ASSERT_TRUE(choice);
  EXPECT_FALSE(choice.value().costs[2].has_value());  // 200 W is too slow
  EXPECT_EQ(chosen(profile_w(), {K::energy, 0}), 150);
  EXPECT_EQ(chosen(profile_w(), {K::time, 0}), 300);
}

TEST(PowerLimitChoice, MilliwattProfilesAreRecognisedAndGiveTheSameChoice) {
  auto profile = parse_power_limit_profile(
      R"({"measurements":[{"power_limit":300000,"energy":300,"time":10},{"power_limit":250000,"energy":260,"time":10.5},
          {"power_limit":200000,"energy":220,"time":12},{"power_limit":150000,"energy":200,"time":16}]})",
      "p.json");
  ASSERT_TRUE(profile);
  EXPECT_TRUE(profile.value().milliwatts);
  EXPECT_EQ(chosen(profile.value(), {PowerLimitObjective::Kind::eta, 0.9}), 250000);
  auto watts =
      parse_power_limit_profile(R"({"measurements":[{"power_limit":700,"energy":1,"time":1}]})", "p");
  ASSERT_TRUE(watts);
  EXPECT_FALSE(watts.value().milliwatts);
}

TEST(PowerLimitChoice, TiesGoToTheLowerEnergy) {
  PowerLimitProfile profile{{{300, 1000, 10}, {250, 850, 10.5}}, false};  // eta 0.5: 2000 both
  EXPECT_EQ(chosen(profile, {PowerLimitObjective::Kind::eta, 0.5}), 250);
}

TEST(PowerLimitChoice, ObjectivesParseAndBadOnesSayWhy) {
  auto eta = PowerLimitObjective::parse("eta:0.25");
  ASSERT_TRUE(eta);
  EXPECT_EQ(eta.value().kind, PowerLimitObjective::Kind::eta);
  EXPECT_DOUBLE_EQ(eta.value().value, 0.25);
  auto slowdown = PowerLimitObjective::parse("max-slowdown:1.5");
  ASSERT_TRUE(slowdown);
  EXPECT_EQ(slowdown.value().kind, PowerLimitObjective::Kind::max_slowdown);
  EXPECT_TRUE(PowerLimitObjective::parse("energy"));
  EXPECT_DOUBLE_EQ(PowerLimitObjective::parse("eta").value().value, 0.5);
  EXPECT_FALSE(PowerLimitObjective::parse("eta:1.5"));
  EXPECT_FALSE(PowerLimitObjective::parse("eta:abc"));
  EXPECT_FALSE(PowerLimitObjective::parse("max_slowdown:0.9"));
  EXPECT_FALSE(PowerLimitObjective::parse("speed"));
  EXPECT_FALSE(PowerLimitObjective::parse("time:2"));
  EXPECT_NE(PowerLimitObjective::parse("eta:2").error().message.find("between 0"), std::string::npos);
}

TEST(PowerLimitChoice, MalformedProfilesAreErrorsThatNameTheProblem) {
  auto error_of = [](const std::string& text) {
    auto profile = parse_power_limit_profile(text, "p.json");
    EXPECT_FALSE(profile) << text;
    return profile ? std::string() : profile.error().message;
  };
  EXPECT_NE(error_of("{").find("not JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("measurements"), std::string::npos);
  EXPECT_NE(error_of(R"({"measurements":[]})").find("empty"), std::string::npos);
  EXPECT_NE(error_of(R"({"measurements":[{"power_limit":300,"time":1}]})").find("\"energy\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"measurements":[{"power_limit":300,"energy":-1,"time":1}]})").find("0 or more"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"measurements":[{"power_limit":300,"energy":1,"time":0}]})").find("above 0"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"measurements":[{"power_limit":300,"energy":1,"time":1},{"power_limit":300,"energy":2,"time":1}]})")
          .find("twice"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"measurements":[{"power_limit":"300","energy":1,"time":1}]})").find("power_limit"),
            std::string::npos);
}

}  // namespace
}  // namespace carbonmeter
