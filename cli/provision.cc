#include "cli/provision.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/deployment_view.h"
#include "cli/output.h"
#include "core/provision/batch.h"
#include "core/provision/provisioner.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Barbican generates each secret of the catalog through a key order named
<vps>_<KIND>; siq never holds a value. One generic container named after the
VPS holds the secret refs under their kind names. The secrets and the
container are made private, with the VPS's reader alone on their read ACLs.
The deployment record (references and dates only) is written before and
after every step, so running the same command again after any failure
finishes the job without duplicates; on a complete VPS it changes nothing.
One provisioning of a VPS runs at a time; another waits up to --lock-wait
seconds, then exits with code 6.

--batch FILE provisions every VPS listed in FILE, --parallel N at a time,
over one token and one pool of connections. FILE is CSV with a header line
(columns vps, org, reader, and optionally env and region) or JSON lines with
the same fields; the reader is an existing user. The whole file is checked
first: a bad line is named (FILE:LINE) and nothing is provisioned. A VPS that
fails does not stop the others; the summary names each VPS's outcome or
error, and the exit code is 4 when some failed (the failure's own code when
all did). Running the same batch again finishes what was left.

--create-reader makes a Keystone user for the VPS and an application
credential for it, written as clouds.yaml to the file descriptor given with
--reader-credential-fd, for the orchestrator to hand to the VPS. It is never
printed and never written to a file by siq.

Examples:
  $ siq provision --vps vps-prod-001 --org org-123 --reader-user vps-reader-1
  $ siq provision --vps vps-prod-002 --org org-123 --create-reader \
        --reader-credential-fd 3 3>/run/secrets/vps-prod-002.yaml
  $ siq provision --vps vps-prod-003 --org org-9 --create-reader \
        --reader-credential-fd 3 --dry-run --output json
  $ siq provision --batch fleet.csv --parallel 4 --output json
)help";

struct Flags {
  std::string vps;
  std::string organization;
  std::string environment = "production";
  std::string region;
  std::string reader_user;
  bool create_reader = false;
  int credential_fd = -1;
  bool dry_run = false;
  std::string batch;
  int parallel = 1;
  RecordOptions records;
  OutputFormat format = OutputFormat::kTable;
};

void Print(const provision::Report& report, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    nlohmann::json doc = {{"outcome", provision::OutcomeName(report.outcome)},
                          {"credential_written", report.credential_written},
                          {"calls", report.calls}};
    if (report.outcome != provision::Outcome::kPlanned ||
        !report.deployment.secrets.empty()) {
      doc["deployment"] = DeploymentJson(report.deployment);
    }
    PrintJson(doc);
    return;
  }
  if (report.outcome == provision::Outcome::kPlanned) {
    fmt::print("dry run: {} calls planned, none made\n", report.calls.size());
    for (const std::string& call : report.calls) {
      fmt::print("  {}\n", call);
    }
    return;
  }
  fmt::print("{}: {}\n\n", report.deployment.vps.str(),
             provision::OutcomeName(report.outcome));
  PrintDeployment(report.deployment);
  if (report.credential_written) {
    fmt::print("\nreader credential written to its file descriptor\n");
  }
}

// The credential must be able to leave through the descriptor before anything
// is created: checked now, not found out after the reader exists.
Status CheckCredentialFd(int fd) {
  if (fd < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "--create-reader needs --reader-credential-fd N: the "
                  "credential is handed over only through a file descriptor");
  }
  if (fd <= 2) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--reader-credential-fd {}: stdin, stdout and "
                              "stderr are refused; the credential is never "
                              "printed",
                              fd));
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--reader-credential-fd {}: not an open file "
                              "descriptor",
                              fd));
  }
  if ((flags & O_ACCMODE) == O_RDONLY) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--reader-credential-fd {}: open for reading "
                              "only",
                              fd));
  }
  return OkStatus();
}

Result<provision::Request> MakeRequest(const Flags& flags) {
  for (const auto& [flag, value] :
       {std::pair{"--vps", &flags.vps}, {"--org", &flags.organization}}) {
    if (value->empty()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{} is required (or --batch FILE)", flag));
    }
  }
  auto vps = records::VpsId::Parse(flags.vps);
  if (!vps.ok()) {
    return vps.status().WithContext("--vps");
  }
  provision::Request request{.vps = *vps,
                             .organization = flags.organization,
                             .environment = flags.environment,
                             .region = flags.region};
  if (flags.create_reader) {
    if (!flags.dry_run) {
      SIQ_RETURN_IF_ERROR(CheckCredentialFd(flags.credential_fd));
    }
    request.reader = {.mode = provision::ReaderChoice::Mode::kCreate,
                      .credential_fd = flags.credential_fd};
  } else if (!flags.reader_user.empty()) {
    request.reader = {.mode = provision::ReaderChoice::Mode::kExisting,
                      .user = flags.reader_user};
  } else {
    return Status(StatusCode::kInvalidArgument,
                  "name the VPS's reader: --reader-user ID|NAME or "
                  "--create-reader");
  }
  return request;
}

double Seconds(std::chrono::milliseconds elapsed) {
  return std::chrono::duration<double>(elapsed).count();
}

void PrintBatch(const provision::BatchReport& report, OutputFormat format) {
  size_t total = report.items.size();
  if (format == OutputFormat::kJson) {
    nlohmann::json results = nlohmann::json::array();
    for (const provision::BatchItem& item : report.items) {
      nlohmann::json one = {{"vps", item.vps.str()},
                            {"line", item.line},
                            {"elapsed_ms", item.elapsed.count()}};
      if (item.status.ok()) {
        one["outcome"] = provision::OutcomeName(item.outcome);
        one["container_ref"] = item.container_ref;
      } else {
        one["outcome"] = "failed";
        one["error"] = item.status.message();
      }
      results.push_back(std::move(one));
    }
    PrintJson({{"total", total},
               {"succeeded", total - report.failed},
               {"failed", report.failed},
               {"elapsed_ms", report.elapsed.count()},
               {"results", std::move(results)}});
    return;
  }
  std::vector<Row> rows;
  for (const provision::BatchItem& item : report.items) {
    std::string outcome =
        item.status.ok() ? std::string(provision::OutcomeName(item.outcome))
                         : "failed: " + item.status.message();
    rows.push_back({item.vps.str(), std::to_string(item.line),
                    fmt::format("{:.1f}s", Seconds(item.elapsed)), outcome});
  }
  PrintTable({"vps", "line", "time", "outcome"}, rows);
  fmt::print("\n{} VPS{}: {} done, {} failed, {:.1f}s\n", total,
             total == 1 ? "" : "s", total - report.failed, report.failed,
             Seconds(report.elapsed));
}

// "provisioning: 12/20 done, 1 failed", redrawn in place on a terminal.
void ShowProgress(const provision::BatchProgress& progress) {
  fmt::print(stderr, "\rprovisioning: {}/{} done, {} failed", progress.done,
             progress.total, progress.failed);
  if (progress.done == progress.total) {
    fmt::print(stderr, "\n");
  }
  (void)std::fflush(stderr);
}

ExitCode BatchExitCode(const provision::BatchReport& report) {
  if (report.failed == 0) {
    return ExitCode::kOk;
  }
  if (report.failed < report.items.size()) {
    return ExitCode::kPartialFailure;
  }
  return ExitCodeFor(report.items.front().status);
}

ExitCode RunBatch(const GlobalOptions& options, const Flags& flags) {
  if (flags.dry_run) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "--dry-run plans one VPS; it does not take --batch"));
  }
  auto entries = provision::ReadBatchFile(flags.batch);
  if (!entries.ok()) {
    return Fail(entries.status());
  }
  auto records = OpenRecords(flags.records, Access::kWrite);
  if (!records.ok()) {
    return Fail(records.status());
  }
  auto share = ConnectShared(options);
  if (!share.ok()) {
    return Fail(share.status());
  }
  // One token for every worker, and a refused credential stops the run
  // before any VPS is touched.
  if (Status authenticated = (*share)->Authenticate(); !authenticated.ok()) {
    return Fail(authenticated);
  }

  auto readers_transport = (*share)->NewTransport();
  provision::Readers readers(*readers_transport, (*share)->config(),
                             records->config.readers);
  provision::BatchProvisioner batch(**share, *records->store, readers,
                                    records->config.secret_kinds);
  provision::BatchOptions batch_options{
      .parallel = flags.parallel,
      .lock_wait = std::chrono::milliseconds(
          static_cast<int64_t>(flags.records.lock_wait_seconds * 1000))};
  if (isatty(STDERR_FILENO) == 1 && !options.quiet) {
    batch_options.progress = ShowProgress;
  }
  provision::BatchReport report = batch.Run(*entries, batch_options);
  PrintBatch(report, flags.format);
  return BatchExitCode(report);
}

ExitCode RunProvision(const GlobalOptions& options, const Flags& flags) {
  if (!flags.batch.empty()) {
    return RunBatch(options, flags);
  }
  auto request = MakeRequest(flags);
  if (!request.ok()) {
    return Fail(request.status());
  }
  bool dry = flags.dry_run;
  auto records =
      OpenRecords(flags.records, dry ? Access::kRead : Access::kWrite);
  if (!records.ok()) {
    return Fail(records.status());
  }
  // A dry run plans from the record alone: it needs no credentials, and
  // the connection it is given never sends a request.
  auto connection =
      dry ? Result<std::unique_ptr<barbican::Connection>>(
                std::make_unique<barbican::Connection>(
                    keystone::AuthConfig{}, http::TransportOptions{}))
          : Connect(options);
  if (!connection.ok()) {
    return Fail(connection.status());
  }
  if (request->region.empty()) {
    request->region = (*connection)->session().config().region_name;
  }

  // One provisioning per VPS at a time: two pipelines racing on one VPS
  // would both order its secrets.
  std::optional<records::FileLock> vps_lock;
  if (!dry) {
    auto lock = records->store->LockFor(
        fmt::format(".{}.lock", request->vps.str()),
        std::chrono::milliseconds(
            static_cast<int64_t>(flags.records.lock_wait_seconds * 1000)));
    if (!lock.ok()) {
      return Fail(lock.status());
    }
    vps_lock = std::move(*lock);
  }

  provision::Readers readers((*connection)->session().transport(),
                             (*connection)->session().config(),
                             records->config.readers);
  provision::Provisioner provisioner((*connection)->barbican(), *records->store,
                                     readers, records->config.secret_kinds);
  auto report = provisioner.Run(
      *request, dry ? provision::DryRun::kYes : provision::DryRun::kNo);
  if (!report.ok()) {
    return Fail(report.status().WithContext(
        fmt::format("provisioning {}", request->vps.str())));
  }
  Print(*report, flags.format);
  return ExitCode::kOk;
}

void AddProvision(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "provision", "Generate a VPS's secrets in Barbican and record them");
  command->footer(kFooter);
  auto flags = std::make_shared<Flags>();
  auto* vps =
      command->add_option("--vps", flags->vps, "the VPS id: [A-Za-z0-9-]{1,64}")
          ->group("Command");
  auto* org = command
                  ->add_option("--org", flags->organization,
                               "the customer organisation")
                  ->group("Command");
  auto* env = command->add_option("--env", flags->environment, "environment")
                  ->capture_default_str()
                  ->group("Command");
  auto* region =
      command
          ->add_option("--region", flags->region,
                       "region (default: the connection's OS_REGION_NAME)")
          ->group("Command");
  auto* reader_user =
      command
          ->add_option("--reader-user", flags->reader_user,
                       "an existing Keystone user (id, or name in the "
                       "readers' domain) to read the VPS's secrets")
          ->group("Command");
  auto* create_reader =
      command
          ->add_flag("--create-reader", flags->create_reader,
                     "create a reader user and application credential for "
                     "the VPS")
          ->group("Command");
  reader_user->excludes(create_reader);
  command
      ->add_option("--reader-credential-fd", flags->credential_fd,
                   "file descriptor that receives the reader's credential "
                   "(clouds.yaml)")
      ->needs(create_reader)
      ->group("Command");
  command
      ->add_flag("--dry-run", flags->dry_run,
                 "print the planned calls and make none")
      ->group("Command");
  auto* batch =
      command
          ->add_option("--batch", flags->batch,
                       "provision every VPS listed in FILE (CSV with a "
                       "header, or JSON lines: vps, org, env, region, reader)")
          ->type_name("FILE")
          ->excludes(vps)
          ->excludes(org)
          ->excludes(env)
          ->excludes(region)
          ->excludes(reader_user)
          ->excludes(create_reader)
          ->group("Command");
  command
      ->add_option("--parallel", flags->parallel,
                   "with --batch: how many VPSs to provision at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64))
      ->needs(batch)
      ->group("Command");
  AddRecordOptions(*command, flags->records);
  AddOutputOption(*command, flags->format);
  command->callback([&options, &action, flags] {
    action = [&options, flags] { return RunProvision(options, *flags); };
  });
}

}  // namespace

const Command kProvisionCommand = {
    "provision", "Generate a VPS's secrets in Barbican and record them",
    AddProvision};

}  // namespace siq::cli
