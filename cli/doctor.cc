#include "cli/doctor.h"

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/base/encoding.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Authenticates with Keystone, finds the key-manager endpoint in the catalog
and, with --round-trip, stores a random secret, reads it back, compares the
bytes and deletes it; the read-back is skipped when the acting role's policy
forbids payload reads (the deployment service's does). Nothing else is
changed. The value is random, held in
locked memory and never printed.

Examples:
  $ eval "$(scripts/dev-stack.sh env)" && siq doctor
  $ siq doctor --os-cloud prod --round-trip --output json
)help";

struct Check {
  std::string name;
  Status status;
  std::string detail;
  std::chrono::milliseconds elapsed{0};
};

template <typename F>
Check Timed(std::string name, F&& body) {
  auto start = std::chrono::steady_clock::now();
  Check check{std::move(name), OkStatus(), "", {}};
  check.status = body(check.detail);
  check.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return check;
}

Status RoundTrip(barbican::Client& client, std::string& detail) {
  SecretBytes value = RandomBytes(32);

  barbican::SecretSpec spec;
  spec.name =
      fmt::format("siq-doctor-{:x}",
                  std::chrono::system_clock::now().time_since_epoch().count());
  auto ref = client.CreateSecret(spec, value);
  if (!ref.ok()) {
    return ref.status();
  }
  auto read = client.GetPayload(*ref);
  Status deleted = client.DeleteSecret(*ref);
  // The acting role's policy may forbid reading payloads (the deployment
  // service's does): then storing and deleting is all there is to check.
  if (!read.ok() && read.status().code() == StatusCode::kPermissionDenied &&
      read.status().http_status() == 0 && deleted.ok()) {
    detail =
        "stored and deleted; reading it back is not this role's to do "
        "(policy)";
    return OkStatus();
  }
  if (!read.ok()) {
    return read.status();
  }
  if (!read->Equals(value)) {
    return Status(
        StatusCode::kServerError,
        fmt::format("secret {} came back with different bytes", ref->url()));
  }
  if (!deleted.ok()) {
    return deleted;
  }
  detail = fmt::format("stored, read back {} identical bytes, deleted",
                       value.size());
  return OkStatus();
}

ExitCode RunDoctor(const GlobalOptions& options,
                   OutputFormat format,
                   bool round_trip) {
  auto connection =
      Connect(options, std::nullopt, AuthenticateAt::kFirstRequest);
  if (!connection.ok()) {
    return Fail(connection.status());
  }
  keystone::Session& session = (*connection)->session();

  std::vector<Check> checks;
  checks.push_back(Timed("authenticate", [&](std::string& detail) {
    Status status = session.Authenticate();
    if (status.ok()) {
      const keystone::TokenInfo& info = session.token_info();
      detail = fmt::format("user {} ({}), project {}, roles {}", info.user_name,
                           info.user_id,
                           info.project_name.empty() ? "-" : info.project_name,
                           fmt::join(info.roles, ","));
    }
    return status;
  }));
  if (checks.back().status.ok()) {
    checks.push_back(Timed("endpoint", [&](std::string& detail) {
      auto url = session.EndpointFor("key-manager");
      if (url.ok()) {
        detail = *url;
      }
      return url.status();
    }));
  }
  if (round_trip && checks.back().status.ok()) {
    checks.push_back(Timed("round-trip", [&](std::string& detail) {
      return RoundTrip((*connection)->barbican(), detail);
    }));
  }

  Status worst;
  for (const Check& check : checks) {
    if (!check.status.ok()) {
      worst = check.status;
    }
  }
  if (format == OutputFormat::kJson) {
    nlohmann::json doc = {{"ok", worst.ok()},
                          {"checks", nlohmann::json::array()}};
    for (const Check& check : checks) {
      doc["checks"].push_back(
          {{"check", check.name},
           {"ok", check.status.ok()},
           {"detail",
            check.status.ok() ? check.detail : check.status.message()},
           {"elapsed_ms", check.elapsed.count()}});
    }
    PrintJson(doc);
  } else {
    std::vector<Row> rows;
    rows.reserve(checks.size());
    for (const Check& check : checks) {
      rows.push_back(
          {check.name, check.status.ok() ? "ok" : "FAILED",
           fmt::format("{} ms", check.elapsed.count()),
           check.status.ok() ? check.detail : check.status.message()});
    }
    PrintTable({"check", "result", "time", "detail"}, rows);
  }
  return worst.ok() ? ExitCode::kOk : Fail(worst);
}

void AddDoctor(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "doctor", "Check that siq can authenticate and use Barbican");
  command->footer(kFooter);
  auto format = std::make_shared<OutputFormat>(OutputFormat::kTable);
  auto round_trip = std::make_shared<bool>(false);
  AddOutputOption(*command, *format);
  command->add_flag("--round-trip", *round_trip,
                    "also store, read back (if allowed) and delete a secret");
  command->callback([&options, &action, format, round_trip] {
    action = [&options, format, round_trip] {
      return RunDoctor(options, *format, *round_trip);
    };
  });
}

}  // namespace

const Command kDoctorCommand = {
    "doctor", "Check that siq can authenticate and use Barbican", AddDoctor};

}  // namespace siq::cli
