#include "cli/backup.h"

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/backup/backup.h"
#include "core/backup/manifest.h"
#include "core/backup/passphrase.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Collects the deployment records, the catalog of secret kinds, the policy
files, and for every secret and container ref of the records what Barbican
says about it now (name, type, creation date, read ACL, or that it is
missing) -- never a value. The bundle is sealed with CMS AuthEnvelopedData
(AES-256-GCM) to each --recipient certificate, so writing a backup needs no
secret and `openssl cms -decrypt -in FILE -inkey key.pem -recip cert.pem`
opens it; or, without certificates, to a passphrase read from
--passphrase-fd N or asked on the terminal (--ask-passphrase). The bundle is
written atomically with mode 0600 into the backup directory (--out, else the
config's backup.directory) and listed in its manifest.json, whose hash chain
`siq backup verify` checks; --keep N prunes all but the newest N. An --out
ending in .p7m writes that one file and no manifest.

Examples:
  $ siq backup --recipient /etc/siq/backup-cert.pem --keep 30
  $ siq backup --out /srv/backup --passphrase-fd 3 3</run/secrets/backup-pass
  $ siq backup verify /srv/backup
)help";

constexpr char kVerifyFooter[] = R"help(
Reads the manifest.json of the backup directory (default: the config's
backup.directory), recomputes its hash chain and the SHA-256 of every bundle
it lists, and looks for bundles it does not list. Names every bundle that
was altered, replaced, removed or slipped in, and exits non-zero; prints the
chain head, which monitoring can compare between runs. Needs no key.

Examples:
  $ siq backup verify
  $ siq backup verify /srv/backup --output json
)help";

struct Flags {
  std::string out;
  std::vector<std::string> recipients;
  int passphrase_fd = -1;
  bool ask_passphrase = false;
  int keep = -1;  // -1: the config's
  std::string verify_dir;
  RecordOptions records;
  OutputFormat format = OutputFormat::kTable;
};

Result<backup::Sealing> MakeSealing(const Flags& flags,
                                    const config::Config& config) {
  backup::Sealing sealing;
  bool passphrase = flags.passphrase_fd >= 0 || flags.ask_passphrase;
  if (!flags.recipients.empty() || !passphrase) {
    sealing.recipients =
        flags.recipients.empty() ? config.backup.recipients : flags.recipients;
    if (sealing.recipients.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "no recipient: name --recipient CERT.pem (or "
                    "backup.recipients in the config), or seal to a "
                    "passphrase with --passphrase-fd N or --ask-passphrase");
    }
    return sealing;
  }
  auto read = flags.passphrase_fd >= 0
                  ? backup::ReadPassphraseFromFd(flags.passphrase_fd)
                  : backup::PromptPassphrase("Passphrase for the new backup",
                                             backup::Confirm::kYes);
  if (!read.ok()) {
    return read.status();
  }
  sealing.passphrase = std::move(*read);
  return sealing;
}

void PrintReport(const backup::BackupReport& report, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    PrintJson({{"path", report.path},
               {"sha256", report.sha256},
               {"manifest", report.in_manifest},
               {"deployments", report.deployments},
               {"secret_refs", report.secret_refs},
               {"missing", report.missing},
               {"unchecked", report.unchecked},
               {"pruned", report.pruned}});
    return;
  }
  fmt::print("backup written: {}\n", report.path);
  fmt::print("  sha256:      {}\n", report.sha256);
  fmt::print("  records:     {}\n", report.deployments);
  fmt::print("  secret refs: {} ({} missing in Barbican, {} unchecked)\n",
             report.secret_refs, report.missing, report.unchecked);
  for (const std::string& path : report.pruned) {
    fmt::print("  pruned:      {}\n", path);
  }
}

ExitCode RunBackup(const GlobalOptions& options, const Flags& flags) {
  auto records = OpenRecords(flags.records, Access::kRead);
  if (!records.ok()) {
    return Fail(records.status());
  }
  const config::Config& config = records->config;
  backup::BackupRequest request{
      .out = flags.out.empty() ? config.backup.directory : flags.out,
      .keep = static_cast<size_t>(flags.keep >= 0 ? flags.keep
                                                  : config.backup.keep)};
  if (flags.keep > 0 && backup::IsBundleFile(request.out)) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       fmt::format("--keep prunes a backup directory; {} "
                                   "names one file",
                                   request.out)));
  }
  auto sealing = MakeSealing(flags, config);
  if (!sealing.ok()) {
    return Fail(sealing.status());
  }
  auto connection = Connect(options);
  if (!connection.ok()) {
    return Fail(connection.status());
  }
  if (isatty(STDERR_FILENO) == 1 && !options.quiet) {
    fmt::print(stderr,
               "siq: backing up {}: checking every ref in "
               "Barbican...\n",
               records->store->path());
  }

  auto report =
      backup::MakeBackup(*records->store, records->store->path(), config,
                         (*connection)->barbican(), *sealing, request);
  if (!report.ok()) {
    return Fail(report.status().WithContext("backing up"));
  }
  PrintReport(*report, flags.format);
  if (report->unchecked > 0) {
    fmt::print(stderr,
               "siq: warning: {} refs could not be checked in Barbican; the "
               "bundle records why\n",
               report->unchecked);
    return ExitCode::kPartialFailure;
  }
  return ExitCode::kOk;
}

ExitCode RunVerify(const Flags& flags) {
  std::string dir = flags.verify_dir;
  if (dir.empty()) {
    auto records = OpenRecords(flags.records, Access::kRead);
    if (!records.ok()) {
      return Fail(records.status());
    }
    dir = records->config.backup.directory;
  }
  auto result = backup::Verify(dir);
  if (!result.ok()) {
    return Fail(result.status());
  }
  if (flags.format == OutputFormat::kJson) {
    PrintJson({{"dir", dir},
               {"ok", result->problems.empty()},
               {"bundles", result->kept},
               {"pruned", result->pruned},
               {"head", result->head},
               {"problems", result->problems}});
  } else {
    fmt::print("{}: {} bundles verified, {} pruned, chain head {}\n", dir,
               result->kept, result->pruned,
               result->head.empty() ? "(empty)" : result->head);
    for (const std::string& problem : result->problems) {
      fmt::print("  problem: {}\n", problem);
    }
  }
  if (!result->problems.empty()) {
    return Fail(
        Status(StatusCode::kCorrupt,
               fmt::format("{}: {} problems: {}", dir, result->problems.size(),
                           result->problems.front())));
  }
  return ExitCode::kOk;
}

void AddBackup(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "backup", "Write an encrypted backup of the records and refs");
  command->footer(kFooter);
  command->require_subcommand(0, 1);
  auto flags = std::make_shared<Flags>();
  command
      ->add_option("--out", flags->out,
                   "backup directory, or a single FILE.p7m (default: the "
                   "config's backup.directory)")
      ->group("Command");
  auto* recipient =
      command
          ->add_option("--recipient", flags->recipients,
                       "certificate (PEM) whose key may open the bundle; "
                       "repeat for several")
          ->group("Command");
  auto* fd = command
                 ->add_option("--passphrase-fd", flags->passphrase_fd,
                              "seal to a passphrase read from this file "
                              "descriptor")
                 ->group("Command");
  auto* ask = command
                  ->add_flag("--ask-passphrase", flags->ask_passphrase,
                             "seal to a passphrase asked on the terminal")
                  ->excludes(fd)
                  ->group("Command");
  recipient->excludes(fd)->excludes(ask);
  command
      ->add_option("--keep", flags->keep,
                   "keep the newest N bundles and prune the rest (default: "
                   "the config's backup.keep, 0 keeps all)")
      ->check(CLI::NonNegativeNumber)
      ->group("Command");
  AddRecordOptions(*command, flags->records);
  AddOutputOption(*command, flags->format);

  CLI::App* verify = command->add_subcommand(
      "verify", "Check a backup directory's manifest chain and bundles");
  verify->footer(kVerifyFooter);
  verify->add_option("dir", flags->verify_dir,
                     "backup directory (default: the config's "
                     "backup.directory)");
  AddRecordOptions(*verify, flags->records);
  AddOutputOption(*verify, flags->format);

  command->callback([&options, &action, flags, verify] {
    if (verify->parsed()) {
      action = [flags] { return RunVerify(*flags); };
    } else {
      action = [&options, flags] { return RunBackup(options, *flags); };
    }
  });
}

}  // namespace

const Command kBackupCommand = {
    "backup", "Write an encrypted backup of the records and refs", AddBackup};

}  // namespace siq::cli
