#include "core/text_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace carbonmeter {
namespace {

// Named per process: another copy of this binary (another build tree, `make test` beside
// `make test-asan`) may run the same test at the same time.
std::string temp_file(const std::string& name, const std::string& content) {
  const std::string path =
      (std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()))).string();
  std::ofstream(path, std::ios::trunc) << content;
  return path;
}

// Each read starts again at offset 0 and stops at the end of what is there now: a longer value,
// then a shorter one, leave nothing of the one before.
TEST(RereadableFile, EachReadIsTheWholeFileAsItIsNow) {
  const std::string path = temp_file("carbonmeter_rereadable_counter", "123\n");
  RereadableFile file(path);
  ASSERT_EQ(file.read_u64().value(), 123u);
  temp_file("carbonmeter_rereadable_counter", "4567890123\n");
  ASSERT_EQ(file.read_u64().value(), 4567890123u);
  temp_file("carbonmeter_rereadable_counter", "7\n");
  ASSERT_EQ(file.read_u64().value(), 7u);
  std::filesystem::remove(path);
}

TEST(RereadableFile, AFileLongerThanTheBufferIsReadUpToIt) {
  const std::string path = temp_file("carbonmeter_rereadable_long", std::string(100, 'x'));
  RereadableFile file(path, 16);
  auto text = file.read();
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text.value(), std::string(16, 'x'));
  std::filesystem::remove(path);
}

// procfs makes these files whole at each read from offset 0, so the one read that returns less
// than asked for holds all of it, up to the last line.
TEST(RereadableFile, ProcfsFilesComeWholeFromOneRead) {
  RereadableFile stat("/proc/stat", 65536);
  auto text = stat.read();
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text.value().substr(0, 4), "cpu ");
  const std::string_view body = trim(text.value());
  EXPECT_EQ(body.substr(body.rfind('\n') + 1, 7), "softirq");
  RereadableFile meminfo("/proc/meminfo", 65536);
  auto memory = meminfo.read();
  ASSERT_TRUE(memory.ok()) << memory.error().message;
  EXPECT_EQ(memory.value().substr(0, 9), "MemTotal:");
  EXPECT_EQ(memory.value().back(), '\n');
  EXPECT_NE(memory.value().find("MemAvailable:"), std::string_view::npos);
}

}  // namespace
}  // namespace carbonmeter
