#include "cli/deployment_view.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "cli/output.h"
#include "core/base/iso_time.h"

namespace siq::cli {
namespace {

std::string OrDash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::optional<TimePoint> NextDue(const records::Deployment& deployment) {
  std::optional<TimePoint> next;
  for (const auto& [kind, slot] : deployment.secrets) {
    if (slot.current && !slot.current->ref.empty() &&
        (!next || slot.due_at < *next)) {
      next = slot.due_at;
    }
  }
  return next;
}

}  // namespace

nlohmann::json DeploymentJson(const records::Deployment& deployment) {
  return records::ToJson(deployment);
}

void PrintDeployment(const records::Deployment& deployment) {
  std::vector<Row> header = {
      {"vps", deployment.vps.str()},
      {"organization", OrDash(deployment.organization)},
      {"environment", OrDash(deployment.environment)},
      {"region", OrDash(deployment.region)},
      {"state", deployment.state},
      {"container", OrDash(deployment.container_ref)},
      {"reader", deployment.reader_user_id.empty()
                     ? "-"
                     : fmt::format("{} ({})", deployment.reader_user_id,
                                   deployment.reader_user_name)},
  };
  if (deployment.recovered_at) {
    header.push_back({"recovered", FormatIso8601(*deployment.recovered_at)});
  }
  for (const Row& row : header) {
    fmt::print("{:<14}{}\n", row[0], row[1]);
  }
  fmt::print("\n");

  std::vector<Row> rows;
  for (const auto& [kind, slot] : deployment.secrets) {
    bool has = slot.current && !slot.current->ref.empty();
    rows.push_back({kind, has ? slot.current->ref : "-",
                    has ? FormatIso8601(slot.current->created_at) : "-",
                    has ? FormatIso8601(slot.due_at) : "-",
                    slot.rotation_state.empty() ? "-" : slot.rotation_state});
  }
  PrintTable({"kind", "secret ref", "created", "due", "rotation"}, rows);
}

void PrintDeploymentList(const std::vector<records::Deployment>& deployments) {
  std::vector<Row> rows;
  for (const records::Deployment& deployment : deployments) {
    auto next = NextDue(deployment);
    rows.push_back({deployment.vps.str(), OrDash(deployment.organization),
                    OrDash(deployment.environment), deployment.state,
                    std::to_string(deployment.secrets.size()),
                    next ? FormatIso8601(*next) : "-"});
  }
  PrintTable(
      {"vps", "organization", "environment", "state", "secrets", "next due"},
      rows);
}

}  // namespace siq::cli
