// carbonmeter: measures the energy of computations and the emissions behind it.
#include <string>
#include <vector>

#include "cli/cli_main.hpp"

int main(int argc, char** argv) {
  using namespace carbonmeter::cli;
  return cli_main(argc, argv,
                  [](CLI::App& app, const std::vector<std::string>& after_double_dash, int& exit_code) {
                    add_run_command(app, after_double_dash, exit_code);
                    add_monitor_command(app, exit_code);
                    add_hardware_command(app, exit_code);
                    add_report_command(app, exit_code);
                    add_intensity_command(app, exit_code);
                    add_estimate_command(app, exit_code);
                    add_plan_command(app, exit_code);
                    add_whatif_command(app, exit_code);
                    add_upload_command(app, exit_code);
                    add_power_limit_command(app, exit_code);
                    add_hub_command(app, exit_code);
                    add_vm_export_command(app, exit_code);
                    add_agent_command(app, exit_code);
                    add_serve_forwarder(app);
                  });
}
