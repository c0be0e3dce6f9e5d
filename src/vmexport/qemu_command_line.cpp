#include "vmexport/qemu_command_line.hpp"

namespace carbonmeter::vmexport {
namespace {

std::string_view base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// QEMU's option syntax: elements separated by ',', a doubled ",," standing for a comma.
std::vector<std::string> split_option_value(std::string_view value) {
  std::vector<std::string> elements(1);
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != ',') {
      elements.back() += value[i];
    } else if (i + 1 < value.size() && value[i + 1] == ',') {
      elements.back() += ',';
      ++i;
    } else {
      elements.emplace_back();
    }
  }
  return elements;
}

std::string name_from_option(std::string_view value) {
  std::string name;
  const std::vector<std::string> elements = split_option_value(value);
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const std::string& element = elements[i];
    if (element.rfind("guest=", 0) == 0)
      name = element.substr(6);
    else if (i == 0 && element.find('=') == std::string::npos)
      name = element;  // the implied key of -name is guest
  }
  return name;
}

}  // namespace

bool is_vm_program(std::string_view program) {
  const std::string_view name = base_name(program);
  return name.rfind("qemu-system-", 0) == 0 || name == "qemu-kvm" || name == "kvm";
}

std::vector<std::string> split_cmdline(std::string_view text) {
  std::vector<std::string> words;
  while (!text.empty()) {
    const auto end = text.find('\0');
    words.emplace_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return words;
}

VmIdentity parse_qemu_command_line(const std::vector<std::string>& args) {
  VmIdentity identity;
  for (std::size_t i = 1; i + 1 < args.size(); ++i) {
    const std::string& option = args[i];
    if (option == "-name" || option == "--name") {
      identity.name = name_from_option(args[i + 1]);
      ++i;
    } else if (option == "-uuid" || option == "--uuid") {
      identity.uuid = args[i + 1];
      ++i;
    }
  }
  return identity;
}

std::string vm_display_name(const VmIdentity& identity, pid_t pid) {
  if (!identity.name.empty()) return identity.name;
  if (!identity.uuid.empty()) return identity.uuid;
  return "qemu-" + std::to_string(pid);
}

}  // namespace carbonmeter::vmexport
