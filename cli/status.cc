#include "cli/status.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/deployment_view.h"
#include "cli/output.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Reads the deployment record file and prints what it holds: every VPS with
its state and next due date, or one VPS's container, reader and secret refs
with their dates and rotation state. References and dates only; no call to
Barbican is made.

Examples:
  $ siq status
  $ siq status vps-prod-001
  $ siq status --output json | jq '.deployments | length'
)help";

struct Flags {
  std::string vps;
  RecordOptions records;
  OutputFormat format = OutputFormat::kTable;
};

ExitCode RunStatus(const Flags& flags) {
  auto records = OpenRecords(flags.records, Access::kRead);
  if (!records.ok()) {
    return Fail(records.status());
  }
  if (!flags.vps.empty()) {
    auto vps = records::VpsId::Parse(flags.vps);
    if (!vps.ok()) {
      return Fail(vps.status());
    }
    auto deployment = records->store->Load(*vps);
    if (!deployment.ok()) {
      return Fail(deployment.status());
    }
    if (!*deployment) {
      return Fail(Status(StatusCode::kNotFound,
                         fmt::format("no record of {} in {}", flags.vps,
                                     records->store->path())));
    }
    if (flags.format == OutputFormat::kJson) {
      PrintJson(DeploymentJson(**deployment));
    } else {
      PrintDeployment(**deployment);
    }
    return ExitCode::kOk;
  }

  auto all = records->store->LoadAll();
  if (!all.ok()) {
    return Fail(all.status());
  }
  std::error_code error;
  if (!std::filesystem::exists(records->store->path(), error)) {
    // Likely a typo in --records: say so rather than show a quiet empty list.
    fmt::print(stderr, "siq: note: {} does not exist: nothing is recorded\n",
               records->store->path());
  }
  if (flags.format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const records::Deployment& deployment : *all) {
      list.push_back(DeploymentJson(deployment));
    }
    PrintJson({{"records", records->store->path()}, {"deployments", list}});
  } else {
    PrintDeploymentList(*all);
  }
  return ExitCode::kOk;
}

void AddStatus(CLI::App& app, GlobalOptions& /*options*/, Action& action) {
  CLI::App* command =
      app.add_subcommand("status", "Show the deployment records");
  command->footer(kFooter);
  auto flags = std::make_shared<Flags>();
  command->add_option("vps", flags->vps, "one VPS to show in full");
  AddRecordOptions(*command, flags->records);
  AddOutputOption(*command, flags->format);
  command->callback(
      [&action, flags] { action = [flags] { return RunStatus(*flags); }; });
}

}  // namespace

const Command kStatusCommand = {"status", "Show the deployment records",
                                AddStatus};

}  // namespace siq::cli
