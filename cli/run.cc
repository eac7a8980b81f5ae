#include "cli/run.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/base/iso_time.h"
#include "core/policy/guard.h"
#include "core/records/deployment.h"
#include "core/run/runner.h"
#include "core/run/secret_loader.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Authenticates as the VPS's reader (OS_*, clouds.yaml, or --credential-file),
reads the VPS's container, fetches each payload into locked memory and
starts COMMAND with the values in its environment under the kind names
(JWT_SECRET, ...), base64 unless --encoding says otherwise. During a
rotation's grace period the previous value comes too, as <KIND>_PREVIOUS:
of two secrets under one kind name, the newer is current. Nothing is
written to disk, and siq's own environment and arguments hold no value.
TERM, INT and HUP go to the child; siq exits with its exit code.

--watch polls the container; on a change the child gets the new set, by
restart (--restart) or through the pipe on SIQ_SECRETS_FD followed by the
reload signal (see man siq-run), and siq moves its consumer entries to the
secrets now loaded. --check only reads every secret and prints kinds and
fingerprints, never values. siq run acts as the policy role vps-application
with vps_id = --vps: a container or secret not its own is refused (exit 3).

Examples:
  $ siq run --vps vps-prod-001 --container "$REF" -- ./server --port 8080
  $ siq run --vps vps-prod-001 --credential-file /etc/siq/reader.yaml \
        --watch 60s --restart -- ./server
  $ siq run --check --vps vps-prod-001 --container "$REF" --output json
)help";

constexpr char kReaderCloud[] = "siq-reader";

struct Flags {
  std::string vps;
  std::string container;
  std::string credential_file;
  run::Encoding encoding = run::Encoding::kBase64;
  std::string watch;
  std::string reload_signal = "HUP";
  bool restart = false;
  std::string stop_timeout = "10s";
  bool check = false;
  OutputFormat format = OutputFormat::kTable;
  std::vector<std::string> command;
};

Result<int> SignalNamed(std::string name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},  {"INT", SIGINT},
      {"TERM", SIGTERM}, {"QUIT", SIGQUIT}, {"WINCH", SIGWINCH}};
  if (name.starts_with("SIG")) {
    name = name.substr(3);
  }
  auto found = kSignals.find(name);
  if (found == kSignals.end()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--reload-signal {}: not one of HUP, USR1, "
                              "USR2, INT, TERM, QUIT, WINCH",
                              name));
  }
  return found->second;
}

// A credential file that others can read is a leaked credential: refuse it.
Status CheckCredentialFile(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("--credential-file {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode) || info.st_uid != geteuid() ||
      (info.st_mode & 0077) != 0) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--credential-file {}: must be a regular file "
                              "owned by this user with mode 0600 or 0400 "
                              "(it is {:o}, owner {})",
                              path, info.st_mode & 0777, info.st_uid));
  }
  return OkStatus();
}

// `siq run` acts as the VPS, whatever role the config names: its reads
// are checked against the VPS's policy for its own vps_id.
ActingRole VpsRole(const records::VpsId& vps) {
  return {std::string(policy::kVpsRole), {{"vps_id", vps.str()}}};
}

Result<std::unique_ptr<barbican::Connection>> ConnectWithFile(
    const GlobalOptions& options,
    const std::string& path,
    const ActingRole& acting) {
  SIQ_RETURN_IF_ERROR(CheckCredentialFile(path));
  // Only the file speaks: a deployer's OS_* left in the environment must not
  // mix into the reader's identity.
  keystone::EnvLookup env =
      [&path](std::string_view name) -> std::optional<std::string> {
    if (name == "OS_CLIENT_CONFIG_FILE") {
      return path;
    }
    return std::nullopt;
  };
  keystone::AuthFlags flags = options.auth;
  if (flags.os_cloud.empty()) {
    flags.os_cloud = kReaderCloud;
  }
  auto config = keystone::LoadAuthConfig(flags, env, {path});
  keystone::ScrubCredentialEnvironment();
  if (!config.ok()) {
    return config.status().WithContext(path);
  }
  auto connection = std::make_unique<barbican::Connection>(
      std::move(*config), TransportFrom(options));
  SIQ_RETURN_IF_ERROR(GuardConnection(*connection, acting));
  SIQ_RETURN_IF_ERROR(connection->session().Authenticate());
  return connection;
}

void PrintCheck(const std::string& vps,
                const barbican::Container& container,
                const std::vector<run::CheckedSecret>& checked,
                OutputFormat format) {
  if (format == OutputFormat::kJson) {
    nlohmann::json secrets = nlohmann::json::array();
    for (const run::CheckedSecret& secret : checked) {
      nlohmann::json item = {{"variable", secret.selection.variable},
                             {"kind", secret.selection.kind},
                             {"fingerprint", secret.fingerprint},
                             {"readable", secret.status.ok()}};
      if (!secret.status.ok()) {
        item["error"] = secret.status.message();
      }
      secrets.push_back(std::move(item));
    }
    PrintJson({{"vps", vps},
               {"container_ref", container.ref.url()},
               {"secrets", secrets}});
    return;
  }
  std::vector<Row> rows;
  rows.reserve(checked.size());
  for (const run::CheckedSecret& secret : checked) {
    rows.push_back({secret.selection.variable, secret.fingerprint,
                    secret.status.ok() ? "readable" : secret.status.message()});
  }
  PrintTable({"variable", "fingerprint", "status"}, rows);
}

ExitCode RunCheck(run::SecretLoader& loader,
                  const std::string& vps,
                  const barbican::Container& container,
                  OutputFormat format) {
  auto selections = loader.Select(container);
  if (!selections.ok()) {
    return Fail(selections.status());
  }
  std::vector<run::CheckedSecret> checked = loader.Check(*selections);
  PrintCheck(vps, container, checked, format);
  for (const run::CheckedSecret& secret : checked) {
    if (!secret.status.ok()) {
      return ExitCodeFor(secret.status);
    }
  }
  if (checked.empty()) {
    return Fail(Status(
        StatusCode::kNotFound,
        fmt::format("container {} holds no secret", container.ref.url())));
  }
  return ExitCode::kOk;
}

Result<run::RunnerOptions> MakeRunnerOptions(const Flags& flags) {
  run::RunnerOptions runner{
      .argv = flags.command,
      .container = barbican::ContainerRef(flags.container),
      .encoding = flags.encoding};
  if (!flags.watch.empty()) {
    auto watch = ParseDuration(flags.watch);
    if (!watch.ok()) {
      return watch.status().WithContext("--watch");
    }
    runner.watch = *watch;
  }
  auto stop = ParseDuration(flags.stop_timeout);
  if (!stop.ok()) {
    return stop.status().WithContext("--stop-timeout");
  }
  runner.stop_timeout = *stop;
  auto signal = SignalNamed(flags.reload_signal);
  if (!signal.ok()) {
    return signal.status();
  }
  runner.reload_signal = *signal;
  runner.reload_mode =
      flags.restart ? run::ReloadMode::kRestart : run::ReloadMode::kSignal;
  if (!flags.check && flags.command.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "name the command to start after --, or use --check");
  }
  return runner;
}

ExitCode RunRun(const GlobalOptions& options, const Flags& flags) {
  auto vps = records::VpsId::Parse(flags.vps);
  if (!vps.ok()) {
    return Fail(vps.status().WithContext("--vps"));
  }
  auto runner_options = MakeRunnerOptions(flags);
  if (!runner_options.ok()) {
    return Fail(runner_options.status());
  }
  auto connection =
      flags.credential_file.empty()
          ? Connect(options, VpsRole(*vps))
          : ConnectWithFile(options, flags.credential_file, VpsRole(*vps));
  if (!connection.ok()) {
    return Fail(connection.status());
  }

  run::SecretLoader loader((*connection)->barbican(), vps->str());
  if (flags.check) {
    auto container = loader.FindContainer(runner_options->container);
    if (!container.ok()) {
      return Fail(container.status());
    }
    return RunCheck(loader, vps->str(), *container, flags.format);
  }
  run::Runner runner(loader, std::move(*runner_options));
  auto code = runner.Run();
  if (!code.ok()) {
    return Fail(code.status().WithContext(
        fmt::format("running {} for {}", flags.command.front(), vps->str())));
  }
  return static_cast<ExitCode>(*code);
}

void AddRun(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "run", "Start a VPS's application with its secrets in memory");
  command->footer(kFooter);
  auto flags = std::make_shared<Flags>();
  command->add_option("--vps", flags->vps, "the VPS id: [A-Za-z0-9-]{1,64}")
      ->required()
      ->group("Command");
  command
      ->add_option("--container", flags->container,
                   "the VPS's container ref, from `siq provision` (env "
                   "SIQ_CONTAINER_REF; default: the container named after the "
                   "VPS, for identities that may list containers)")
      ->envname("SIQ_CONTAINER_REF")
      ->group("Command");
  command
      ->add_option("--credential-file", flags->credential_file,
                   "the reader's clouds.yaml (cloud siq-reader unless "
                   "--os-cloud); mode 0600 or 0400, owned by this user")
      ->group("Connection");
  command
      ->add_option("--encoding", flags->encoding,
                   "how values appear in the environment")
      ->transform(CLI::CheckedTransformer(std::map<std::string, run::Encoding>{
          {"base64", run::Encoding::kBase64},
          {"hex", run::Encoding::kHex},
          {"raw", run::Encoding::kRaw}}))
      ->option_text("raw|base64|hex (default base64)")
      ->group("Command");
  command
      ->add_option("--watch", flags->watch,
                   "poll the container this often (e.g. 60s) and hand a "
                   "changed set to the child")
      ->group("Watch");
  auto* reload =
      command
          ->add_option("--reload-signal", flags->reload_signal,
                       "with --watch: write the new set to SIQ_SECRETS_FD, "
                       "then send this signal")
          ->capture_default_str()
          ->group("Watch");
  command
      ->add_flag("--restart", flags->restart,
                 "with --watch: restart the child with the new environment")
      ->excludes(reload)
      ->group("Watch");
  command
      ->add_option("--stop-timeout", flags->stop_timeout,
                   "on restart, wait this long after TERM before KILL")
      ->capture_default_str()
      ->group("Watch");
  command
      ->add_flag("--check", flags->check,
                 "only check that every secret is readable; print kinds and "
                 "fingerprints")
      ->group("Command");
  AddOutputOption(*command, flags->format);
  command->add_option("command", flags->command,
                      "the program and its arguments, after --");
  command->callback([&options, &action, flags] {
    action = [&options, flags] { return RunRun(options, *flags); };
  });
}

}  // namespace

const Command kRunCommand = {
    "run", "Start a VPS's application with its secrets in memory", AddRun};

}  // namespace siq::cli
