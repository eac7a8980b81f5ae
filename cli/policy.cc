#include "cli/policy.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/policy/apply.h"
#include "core/policy/evaluator.h"
#include "core/policy/guard.h"
#include "core/policy/oslo.h"
#include "core/policy/policy.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
The policies are the standard's YAML IAM policies: per role, which actions
(create, list, get, update, delete) it may or may not do to which resource
(barbican:secrets, barbican:secrets:payload, barbican:containers), under
which conditions (name_prefix: "${vps_id}_"). A role table (roles.yaml)
names each role's policies and Keystone roles. Default deny; any matching
deny wins; otherwise an allow must match. They are read from --policies,
else the `policies:` directory of siq's config, else /usr/share/siq/policies,
else (not installed) the policies built into siq. Every command checks each
Barbican request against the policies of the config's `role:` first, and
exits 3 naming the deciding statement when they refuse it.

Examples:
  $ siq policy check /etc/siq/policies/*.yaml
  $ siq policy test --role vps-application --action get \
        --resource barbican:secrets:payload --name vps-1_JWT_SECRET \
        --var vps_id=vps-1
  $ siq policy render --oslo --out /etc/barbican/policy.yaml
)help";

constexpr char kTestFooter[] = R"help(
Prints allow or deny and the rule that decided (policy, rule index from 0,
file:line); exits 0 for allow and 3 for deny. A condition that needs an
unset or invalid variable, or a name that was not given, fails closed: it
never lets an allow match, and always lets a deny match.

Examples:
  $ siq policy test --role deployment-service --action get \
        --resource barbican:secrets:payload
  $ siq policy test --role vps-application --action get \
        --resource barbican:secrets --name vps-10_JWT_SECRET \
        --var vps_id=vps-1 --output json
)help";

constexpr char kRenderFooter[] = R"help(
Writes a Barbican policy.yaml override that grants each Barbican rule on
secrets, orders, containers, ACLs, metadata and consumers only to the
Keystone roles of the siq roles that may do it. Name conditions become read
ACL checks. It replaces Barbican's defaults for every identity: a Keystone
role that roles.yaml does not name, admin included, loses those rules.
Install it as [oslo_policy] policy_file; oslo.policy reloads it on change.

Examples:
  $ siq policy render --oslo
  $ siq policy render --oslo --out /etc/barbican/policy.yaml
)help";

constexpr char kApplyFooter[] = R"help(
Reads every deployment record and makes Barbican match it: each secret of a
VPS (current, pending, previous) and its container private (project-access
false), with exactly the VPS's reader on the read ACL. Any other user is
removed and a missing reader added. Prints what drifted, per VPS and
object, and what was done; --dry-run only prints it. Records still
provisioning are skipped. Exits 0 when nothing drifted or everything was
fixed, 4 when some fixes failed (run it again), 3 when the acting role's
policy refuses a step.

Examples:
  $ siq policy apply --dry-run
  $ siq policy apply --records /var/lib/siq/deployments.json --output json
)help";

struct Source {
  std::string policies;  // --policies
  std::string config;    // --config, else SIQ_CONFIG
};

struct Flags {
  Source source;
  OutputFormat format = OutputFormat::kTable;
  std::vector<std::string> files;  // check
  std::string role;                // test
  std::string action;
  std::string resource;
  std::string name;
  std::vector<std::string> vars;
  bool oslo = false;  // render
  std::string out;
  RecordOptions records;  // apply
  bool dry_run = false;
};

Result<std::string> PolicyDir(const Source& source) {
  if (!source.policies.empty()) {
    return source.policies;
  }
  std::string path = source.config;
  if (path.empty()) {
    path = keystone::ProcessEnvironment()("SIQ_CONFIG").value_or("");
  }
  auto config = config::LoadConfig(path);
  if (!config.ok()) {
    return config.status();
  }
  return config->policies;
}

// The policies as every command enforces them: --policies, else the
// config's directory, else the built-in ones when the default directory is
// not installed.
Result<policy::PolicySet> LoadSet(const Source& source) {
  auto dir = PolicyDir(source);
  if (!dir.ok()) {
    return dir.status();
  }
  if (!source.policies.empty()) {
    return policy::LoadPolicyDir(*dir);
  }
  return policy::LoadEnforcedPolicies(*dir, config::Config{}.policies);
}

ExitCode RunCheck(const Flags& flags) {
  std::vector<std::string> targets = flags.files;
  if (targets.empty()) {
    auto dir = PolicyDir(flags.source);
    if (!dir.ok()) {
      return Fail(dir.status());
    }
    targets.push_back(*dir);
  }

  nlohmann::json results = nlohmann::json::array();
  bool all_ok = true;
  for (const std::string& target : targets) {
    std::error_code error;
    Status status = std::filesystem::is_directory(target, error)
                        ? policy::LoadPolicyDir(target).status()
                        : policy::LoadPolicyFile(target).status();
    all_ok = all_ok && status.ok();
    results.push_back({{"path", target},
                       {"ok", status.ok()},
                       {"error", status.ok() ? "" : status.message()}});
    if (flags.format == OutputFormat::kTable) {
      if (status.ok()) {
        fmt::print("{}: ok\n", target);
      } else {
        fmt::print(stderr, "siq: error: {}\n", status.message());
      }
    }
  }
  if (flags.format == OutputFormat::kJson) {
    PrintJson({{"ok", all_ok}, {"files", results}});
  }
  return all_ok ? ExitCode::kOk : ExitCode::kUsage;
}

Result<policy::Request> MakeRequest(const Flags& flags) {
  policy::Request request{.role = flags.role, .name = flags.name};
  auto action = policy::ParseAction(flags.action);
  if (!action) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--action: unknown action '{}' (known: create, "
                              "list, get, update, delete)",
                              flags.action));
  }
  request.action = *action;
  auto resource = policy::ParseResource(flags.resource);
  if (!resource) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--resource: unknown resource '{}' (known: "
                              "barbican:secrets, barbican:secrets:payload, "
                              "barbican:containers)",
                              flags.resource));
  }
  request.resource = *resource;
  for (const std::string& var : flags.vars) {
    size_t equals = var.find('=');
    std::string key = var.substr(0, equals);
    bool known = std::find(std::begin(policy::kKnownVariables),
                           std::end(policy::kKnownVariables),
                           key) != std::end(policy::kKnownVariables);
    if (equals == std::string::npos || !known) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("--var '{}': expected vps_id=VALUE", var));
    }
    request.vars[key] = var.substr(equals + 1);
  }
  return request;
}

ExitCode RunTest(const Flags& flags) {
  auto request = MakeRequest(flags);
  if (!request.ok()) {
    return Fail(request.status());
  }
  auto set = LoadSet(flags.source);
  if (!set.ok()) {
    return Fail(set.status());
  }

  policy::Decision decision = policy::Evaluate(*set, *request);
  std::string effect(policy::EffectName(decision.effect));
  const auto& statement = decision.statement;
  if (flags.format == OutputFormat::kJson) {
    nlohmann::json doc = {
        {"decision", effect},     {"role", request->role},
        {"action", flags.action}, {"resource", flags.resource},
        {"name", request->name},  {"reason", decision.reason},
        {"statement", nullptr}};
    if (statement) {
      doc["statement"] = {{"policy", statement->policy},
                          {"rule", statement->rule_index},
                          {"file", statement->location.file},
                          {"line", statement->location.line}};
    }
    PrintJson(doc);
  } else {
    fmt::print("decision   {}\n", effect);
    if (statement) {
      fmt::print("statement  {} rule {} ({})\n", statement->policy,
                 statement->rule_index, statement->location.str());
    }
    fmt::print("reason     {}\n", decision.reason);
  }
  return decision.effect == policy::Effect::kAllow ? ExitCode::kOk
                                                   : ExitCode::kPolicyDenied;
}

std::string Cell(const policy::Summary& summary) {
  switch (summary.verdict) {
    case policy::Verdict::kAllow:
      return "allow";
    case policy::Verdict::kDeny:
      return "-";
    case policy::Verdict::kConditional:
      return summary.Text();
  }
  return "-";
}

ExitCode RunExplain(const Flags& flags) {
  auto set = LoadSet(flags.source);
  if (!set.ok()) {
    return Fail(set.status());
  }

  Row header = {"role", "resource"};
  for (policy::Action action : policy::kAllActions) {
    header.emplace_back(policy::ActionName(action));
  }
  std::vector<Row> rows;
  nlohmann::json entries = nlohmann::json::array();
  for (const policy::Role& role : set->roles) {
    for (policy::Resource resource : policy::kAllResources) {
      Row row = {role.name, std::string(policy::ResourceName(resource))};
      for (policy::Action action : policy::kAllActions) {
        policy::Summary summary =
            policy::Summarize(*set, role.name, action, resource);
        row.push_back(Cell(summary));
        std::string verdict =
            summary.verdict == policy::Verdict::kAllow  ? "allow"
            : summary.verdict == policy::Verdict::kDeny ? "deny"
                                                        : "conditional";
        entries.push_back({{"role", role.name},
                           {"resource", row[1]},
                           {"action", policy::ActionName(action)},
                           {"verdict", verdict},
                           {"conditions", summary.Text()}});
      }
      rows.push_back(std::move(row));
    }
  }

  if (flags.format == OutputFormat::kJson) {
    PrintJson({{"policies", set->dir}, {"entries", entries}});
  } else {
    PrintTable(header, rows);
  }
  return ExitCode::kOk;
}

// Written beside the target and renamed over it, so that oslo.policy,
// which reloads a changed file, never reads half of one.
Status WriteAtomically(const std::string& path, const std::string& text) {
  std::string temporary = path + ".siq-tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      return Status(StatusCode::kIoError,
                    fmt::format("writing {}: cannot write", temporary));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    return Status(StatusCode::kIoError,
                  fmt::format("writing {}: {}", path, error.message()));
  }
  return OkStatus();
}

ExitCode RunRender(const Flags& flags) {
  if (!flags.oslo) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "name the format: --oslo (a Barbican policy.yaml)"));
  }
  auto set = LoadSet(flags.source);
  if (!set.ok()) {
    return Fail(set.status());
  }
  auto text = policy::RenderOsloPolicy(*set);
  if (!text.ok()) {
    return Fail(text.status());
  }
  if (flags.out.empty()) {
    fmt::print("{}", *text);
    return ExitCode::kOk;
  }
  Status written = WriteAtomically(flags.out, *text);
  if (!written.ok()) {
    return Fail(written);
  }
  fmt::print(stderr, "wrote {}\n", flags.out);
  return ExitCode::kOk;
}

void PrintApply(const policy::ApplyReport& report, OutputFormat format) {
  bool dry = report.dry_run == policy::DryRun::kYes;
  if (format == OutputFormat::kJson) {
    nlohmann::json drifts = nlohmann::json::array();
    for (const policy::AclDrift& drift : report.drifts) {
      drifts.push_back({{"vps", drift.vps},
                        {"resource", drift.resource},
                        {"ref", drift.ref},
                        {"changes", drift.changes},
                        {"outcome", policy::OutcomeName(drift.outcome)},
                        {"error", drift.status.message()}});
    }
    PrintJson({{"dry_run", dry},
               {"vps_checked", report.vps_checked},
               {"acls_checked", report.acls_checked},
               {"skipped", report.skipped},
               {"drifted", report.drifts.size()},
               {"failed", report.failed()},
               {"drifts", drifts}});
    return;
  }
  std::vector<Row> rows;
  rows.reserve(report.drifts.size());
  for (const policy::AclDrift& drift : report.drifts) {
    std::string outcome(policy::OutcomeName(drift.outcome));
    if (!drift.status.ok()) {
      outcome += ": " + drift.status.message();
    }
    rows.push_back({drift.vps, drift.resource,
                    fmt::format("{}", fmt::join(drift.changes, "; ")),
                    outcome});
  }
  if (!rows.empty()) {
    PrintTable({"vps", "resource", "drift", "result"}, rows);
  }
  fmt::print("{}{} ACLs of {} VPSs checked: {} drifted, {} failed{}\n",
             dry ? "dry run: " : "", report.acls_checked, report.vps_checked,
             report.drifts.size(), report.failed(),
             report.skipped.empty()
                 ? ""
                 : fmt::format("; skipped (still provisioning): {}",
                               fmt::join(report.skipped, ", ")));
}

ExitCode RunApply(const GlobalOptions& options, const Flags& flags) {
  auto records = OpenRecords(flags.records, Access::kRead);
  if (!records.ok()) {
    return Fail(records.status());
  }
  auto deployments = records->store->LoadAll();
  if (!deployments.ok()) {
    return Fail(deployments.status());
  }
  auto connection = Connect(options);
  if (!connection.ok()) {
    return Fail(connection.status());
  }
  if (isatty(STDERR_FILENO) == 1 && deployments->size() > 20) {
    fmt::print(stderr, "checking the ACLs of {} VPSs...\n",
               deployments->size());
  }

  auto report = policy::ApplyAcls(
      (*connection)->barbican(), *deployments,
      flags.dry_run ? policy::DryRun::kYes : policy::DryRun::kNo);
  if (!report.ok()) {
    return Fail(report.status());
  }
  PrintApply(*report, flags.format);
  return report->failed() > 0 ? ExitCode::kPartialFailure : ExitCode::kOk;
}

void AddSourceOptions(CLI::App& command, Source& source) {
  command
      .add_option("--policies", source.policies,
                  "the policy directory (default: the config's policies, "
                  "or /usr/share/siq/policies)")
      ->group("Policies");
  command
      .add_option("--config", source.config,
                  "siq's config file, for its policies key (env SIQ_CONFIG)")
      ->each(RememberConfigFlag)
      ->group("Policies");
}

CLI::App* AddSub(CLI::App& parent,
                 const char* name,
                 const char* summary,
                 const std::shared_ptr<Flags>& flags) {
  CLI::App* command = parent.add_subcommand(name, summary);
  AddSourceOptions(*command, flags->source);
  AddOutputOption(*command, flags->format);
  return command;
}

void AddTestOptions(CLI::App& command, Flags& flags) {
  command.add_option("--role", flags.role, "a role of the role table")
      ->required()
      ->group("Request");
  command
      .add_option("--action", flags.action,
                  "create, list, get, update or delete")
      ->required()
      ->group("Request");
  command
      .add_option("--resource", flags.resource,
                  "barbican:secrets, barbican:secrets:payload or "
                  "barbican:containers")
      ->required()
      ->group("Request");
  command.add_option("--name", flags.name, "the resource's name")
      ->group("Request");
  command.add_option("--var", flags.vars, "a variable: vps_id=VALUE")
      ->type_name("NAME=VALUE")
      ->group("Request");
}

void AddApply(CLI::App& parent,
              GlobalOptions& options,
              Action& action,
              const std::shared_ptr<Flags>& flags) {
  CLI::App* apply = parent.add_subcommand(
      "apply", "Make Barbican's ACLs match the records and the policies");
  apply->footer(kApplyFooter);
  apply
      ->add_flag("--dry-run", flags->dry_run,
                 "print the drift and change nothing")
      ->group("Command");
  AddRecordOptions(*apply, flags->records);
  AddOutputOption(*apply, flags->format);
  apply->callback([&options, &action, flags] {
    action = [&options, flags] { return RunApply(options, *flags); };
  });
}

void AddPolicy(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "policy", "Check, test, explain, apply and render the IAM policies");
  command->footer(kFooter);
  command->require_subcommand(1);
  auto flags = std::make_shared<Flags>();

  CLI::App* check = AddSub(*command, "check",
                           "Validate policy files (default: the policy "
                           "directory)",
                           flags);
  check->add_option("FILE", flags->files, "policy files or directories");
  check->callback(
      [&action, flags] { action = [flags] { return RunCheck(*flags); }; });

  CLI::App* test =
      AddSub(*command, "test", "Decide whether a role may do an action", flags);
  test->footer(kTestFooter);
  AddTestOptions(*test, *flags);
  test->callback(
      [&action, flags] { action = [flags] { return RunTest(*flags); }; });

  CLI::App* explain =
      AddSub(*command, "explain",
             "Print what each role may do to each resource", flags);
  explain->callback(
      [&action, flags] { action = [flags] { return RunExplain(*flags); }; });

  CLI::App* render =
      AddSub(*command, "render", "Write the policies as a Barbican policy.yaml",
             flags);
  render->footer(kRenderFooter);
  render->add_flag("--oslo", flags->oslo, "an oslo.policy file for Barbican")
      ->group("Render");
  render
      ->add_option("--out", flags->out,
                   "write to this file (atomically) instead of stdout")
      ->group("Render");
  render->callback(
      [&action, flags] { action = [flags] { return RunRender(*flags); }; });

  AddApply(*command, options, action, flags);
}

}  // namespace

const Command kPolicyCommand = {
    "policy", "Check, test, explain, apply and render the IAM policies",
    AddPolicy};

}  // namespace siq::cli
