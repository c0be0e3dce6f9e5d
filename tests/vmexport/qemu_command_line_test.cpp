// Telling VM processes and their names from QEMU command lines, and the folders they get.
#include "vmexport/qemu_command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/name_rules.hpp"
#include "vmexport/folder_names.hpp"

namespace carbonmeter::vmexport {
namespace {

using ::testing::ElementsAre;

TEST(VmExportNames, VmProgramsByTheirBaseName) {
  for (const char* program : {"qemu-system-x86_64", "/usr/bin/qemu-system-aarch64", "qemu-system-x86",
                              "/usr/libexec/qemu-kvm", "qemu-kvm", "kvm", "/usr/bin/kvm"})
    EXPECT_TRUE(is_vm_program(program)) << program;
  for (const char* program : {"qemu-img", "bash", "kvm-pit/1234", "qemu-system", "/usr/bin/qemu-system", "",
                              "virtqemud", "my-kvm", "/opt/kvm/bin/python"})
    EXPECT_FALSE(is_vm_program(program)) << program;
}

TEST(VmExportNames, CmdlineWordsEndInNul) {
  EXPECT_THAT(split_cmdline(std::string("qemu-kvm\0-name\0web\0", 18)),
              ElementsAre("qemu-kvm", "-name", "web"));
  EXPECT_THAT(split_cmdline(std::string("a\0\0b\0", 5)), ElementsAre("a", "", "b"));
  EXPECT_TRUE(split_cmdline("").empty());
}

TEST(VmExportNames, LibvirtNameComesFromGuestKey) {
  const VmIdentity vm =
      parse_qemu_command_line({"/usr/bin/qemu-system-x86_64", "-name", "guest=web-1,debug-threads=on", "-S",
                               "-object", "{\"qom-type\":\"secret\",\"id\":\"masterKey0\"}", "-uuid",
                               "0b6c0f0e-7c7c-4a3e-9d43-2f1d1c1e6a01", "-m", "8192"});
  EXPECT_EQ(vm.name, "web-1");
  EXPECT_EQ(vm.uuid, "0b6c0f0e-7c7c-4a3e-9d43-2f1d1c1e6a01");
  EXPECT_EQ(vm_display_name(vm, 1234), "web-1");
}

TEST(VmExportNames, GuestKeyAnywhereInTheValue) {
  EXPECT_EQ(parse_qemu_command_line({"qemu-kvm", "-name", "debug-threads=on,guest=db"}).name, "db");
  EXPECT_EQ(parse_qemu_command_line({"qemu-kvm", "-name", "process=qemu-db,guest=db"}).name, "db");
}

TEST(VmExportNames, PlainNameIsTheFirstElement) {
  EXPECT_EQ(parse_qemu_command_line({"qemu-system-x86_64", "-name", "builder"}).name, "builder");
  EXPECT_EQ(parse_qemu_command_line({"qemu-system-x86_64", "--name", "builder,process=qemu-builder"}).name,
            "builder");
  EXPECT_EQ(parse_qemu_command_line({"kvm", "-m", "512", "-name", "my vm"}).name, "my vm");
}

TEST(VmExportNames, DoubledCommaIsACommaOfTheName) {
  EXPECT_EQ(parse_qemu_command_line({"qemu-kvm", "-name", "guest=a,,b,debug-threads=on"}).name, "a,b");
  EXPECT_EQ(parse_qemu_command_line({"qemu-kvm", "-name", "x,,y"}).name, "x,y");
}

TEST(VmExportNames, WithoutNameTheUuidThenThePid) {
  const VmIdentity uuid_only = parse_qemu_command_line({"qemu-kvm", "-uuid", "1234-abcd", "-m", "1024"});
  EXPECT_EQ(uuid_only.name, "");
  EXPECT_EQ(vm_display_name(uuid_only, 77), "1234-abcd");
  const VmIdentity nothing = parse_qemu_command_line({"qemu-system-x86_64", "-m", "1024", "disk.img"});
  EXPECT_EQ(vm_display_name(nothing, 77), "qemu-77");
  // An option with its value missing at the end, and words that only look like options.
  EXPECT_EQ(vm_display_name(parse_qemu_command_line({"qemu-kvm", "-name"}), 5), "qemu-5");
  EXPECT_EQ(vm_display_name(parse_qemu_command_line({"qemu-kvm", "-drive", "file=-name"}), 5), "qemu-5");
  EXPECT_EQ(vm_display_name(parse_qemu_command_line({"qemu-kvm", "-name", "process=x"}), 5), "qemu-5");
}

TEST(VmExportNames, FolderNamesAreSafe) {
  EXPECT_EQ(folder_name_for("web-1"), "web-1");
  EXPECT_EQ(folder_name_for("db server"), "db_server");
  EXPECT_EQ(folder_name_for("../../etc"), "_._.._etc");
  EXPECT_EQ(folder_name_for(".."), "_.");
  EXPECT_EQ(folder_name_for("."), "_");
  EXPECT_EQ(folder_name_for(".hidden"), "_hidden");
  EXPECT_EQ(folder_name_for("a/b\\c:d*e"), "a_b_c_d_e");
  EXPECT_EQ(folder_name_for("tab\there\nnewline"), "tab_here_newline");
  EXPECT_EQ(folder_name_for("vm-é"), "vm-__");  // bytes outside ASCII
  EXPECT_EQ(folder_name_for(""), "vm");
  EXPECT_EQ(folder_name_for("carbonmeter-vm-export.json"), "carbonmeter-vm-export.json_");
  EXPECT_EQ(folder_name_for(std::string(300, 'x')), std::string(100, 'x'));
  for (const char* name : {"web-1", "..", "", "a/b", "x\x01y", "é"})
    EXPECT_TRUE(check_name(folder_name_for(name), "folder").ok()) << name;
}

TEST(VmExportNames, SameNameGetsDistinctFolders) {
  std::set<std::string> taken;
  auto is_taken = [&](const std::string& folder) { return taken.count(folder) > 0; };
  for (int i = 0; i < 3; ++i) taken.insert(unique_folder_name(folder_name_for("web"), is_taken));
  EXPECT_EQ(taken, (std::set<std::string>{"web", "web-2", "web-3"}));
  // Names that become the same folder are told apart the same way.
  taken = {"a_b"};
  EXPECT_EQ(unique_folder_name(folder_name_for("a b"), is_taken), "a_b-2");
  EXPECT_TRUE(check_name(unique_folder_name(folder_name_for(std::string(300, 'y')), is_taken), "f").ok());
}

}  // namespace
}  // namespace carbonmeter::vmexport
