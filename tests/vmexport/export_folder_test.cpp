// read_previous_export: what a folder left by an earlier `carbonmeter vm-export` tells the next one.
#include "vmexport/export_folder.hpp"

#include <gtest/gtest.h>

#include "sensors/rapl_powercap.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;

vmexport::PreviousExport read_marker(FakeRoot& root, const std::string& vm_json) {
  root.write(std::string("vm-1/") + kHostExportMarkerFile, R"({"vm":)" + vm_json + "}");
  return vmexport::read_previous_export(root.path() + "/vm-1");
}

TEST(ExportFolder, ReadsTheVmOfItsMarker) {
  FakeRoot root("");
  const auto previous = read_marker(root, R"({"pid":4242,"start_ticks":123456,"state":"running"})");
  EXPECT_TRUE(previous.ours);
  ASSERT_TRUE(previous.pid.has_value());
  EXPECT_EQ(*previous.pid, 4242);
  EXPECT_EQ(previous.start_ticks, 123456u);
  EXPECT_EQ(previous.state, "running");
  EXPECT_TRUE(previous.marker.is_object());
}

// A pid or start time that is not an integer in range makes the marker unreadable (the counters
// alone then say where to continue); a float is never cast (42E42 to an int is undefined behaviour).
TEST(ExportFolder, AMarkerWhosePidOrStartIsNotAnIntegerIsUnreadable) {
  FakeRoot root("");
  for (const char* vm :
       {R"({"pid":42E42,"start_ticks":1})", R"({"pid":1.5,"start_ticks":1})", R"({"pid":0,"start_ticks":1})",
        R"({"pid":4294967297,"start_ticks":1})", R"({"pid":"42","start_ticks":1})",
        R"({"pid":42,"start_ticks":1e300})", R"({"pid":42,"start_ticks":-5})"}) {
    const auto previous = read_marker(root, vm);
    EXPECT_TRUE(previous.ours) << vm;
    EXPECT_FALSE(previous.pid.has_value()) << vm;
    EXPECT_TRUE(previous.marker.is_null()) << vm;
  }
}

}  // namespace
}  // namespace carbonmeter
