#include "cli/recover.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/backup/backup.h"
#include "core/backup/passphrase.h"
#include "core/base/iso_time.h"
#include "core/notify/notifier.h"
#include "core/recover/ladder.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Walks a ladder for the VPS and reports the rung it ended on, each with its
own exit code:
  1 (exit 0)  nothing to do: the container and every secret it references
              exist, the reader alone reads them, and the record matches;
  2 (exit 8)  rebuilt: the secrets exist but the container, an ACL or the
              record was damaged or lost; the container and ACLs are rebuilt
              and the record restored -- from the record file, else from the
              newest bundle in the backup directory or --from-backup FILE --
              keeping the same secret refs;
  3 (exit 9)  re-provisioned: secrets were gone; new ones are generated in
              Barbican, the record gets recovered_at, and the customer is
              told that all users must re-authenticate (through the
              notification channels of the audience "customer"; a warning
              says so when none is configured).
--dry-run names the rung and the planned calls, changes nothing, and exits
with the rung's code. Re-provisioning asks for confirmation on a terminal;
elsewhere it needs --yes. --all walks the ladder for every VPS of the record
file (and of the bundle, when one is opened) and prints a summary.

A bundle is opened with --key KEY.pem [--cert CERT.pem] or a passphrase
(--passphrase-fd N, --ask-passphrase); it is needed only when the record
file lacks the VPS, or when --from-backup names one.

Examples:
  $ siq recover vps-prod-001 --dry-run
  $ siq recover vps-prod-001 --key /etc/siq/backup-key.pem --yes
  $ siq recover --all \
        --from-backup /srv/backup/siq-backup-20261203T020000Z.p7m \
        --passphrase-fd 3 3</run/secrets/backup-pass --output json
)help";

struct Flags {
  std::string vps;
  bool all = false;
  std::string from_backup;
  std::string backup_dir;
  std::string key;
  std::string cert;
  int passphrase_fd = -1;
  bool ask_passphrase = false;
  bool dry_run = false;
  bool yes = false;
  RecordOptions records;
  OutputFormat format = OutputFormat::kTable;
};

bool CanOpen(const Flags& flags) {
  return !flags.key.empty() || flags.passphrase_fd >= 0 || flags.ask_passphrase;
}

Result<backup::OpeningKey> OpeningKey(const Flags& flags) {
  backup::OpeningKey key{.key_path = flags.key, .certificate_path = flags.cert};
  if (!flags.key.empty()) {
    return key;
  }
  auto passphrase = flags.passphrase_fd >= 0
                        ? backup::ReadPassphraseFromFd(flags.passphrase_fd)
                        : backup::PromptPassphrase("Passphrase of the backup",
                                                   backup::Confirm::kNo);
  if (!passphrase.ok()) {
    return passphrase.status();
  }
  key.passphrase = std::move(*passphrase);
  return key;
}

// The bundle to recover from: --from-backup, or the newest of the backup
// directory when the record file lacks a VPS asked for (or a key is given).
Result<std::optional<backup::Bundle>> LoadBundle(const Flags& flags,
                                                 const config::Config& config,
                                                 bool record_missing) {
  if (flags.from_backup.empty() && !record_missing && !CanOpen(flags)) {
    return std::optional<backup::Bundle>();
  }
  std::string path = flags.from_backup;
  if (path.empty()) {
    auto newest = backup::NewestBundleIn(
        flags.backup_dir.empty() ? config.backup.directory : flags.backup_dir);
    if (!newest.ok()) {
      return newest.status();
    }
    path = *newest;
  }
  if (!CanOpen(flags)) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("opening {} needs --key KEY.pem or a "
                              "passphrase (--passphrase-fd N, "
                              "--ask-passphrase)",
                              path));
  }
  auto key = OpeningKey(flags);
  if (!key.ok()) {
    return key.status();
  }
  auto bundle = backup::OpenBundle(path, *key);
  if (!bundle.ok()) {
    return bundle.status();
  }
  return std::optional<backup::Bundle>(std::move(*bundle));
}

ExitCode RungExit(recover::Rung rung) {
  switch (rung) {
    case recover::Rung::kNothingToDo:
      return ExitCode::kOk;
    case recover::Rung::kRebuild:
      return ExitCode::kRecoverRebuilt;
    case recover::Rung::kReprovision:
      return ExitCode::kRecoverReprovisioned;
  }
  return ExitCode::kRuntime;
}

// Re-provisioning replaces secrets and logs every user out: a person says
// yes on a terminal, a script says --yes.
Status Confirm(const Flags& flags, const recover::Diagnosis& diagnosis) {
  if (flags.yes || diagnosis.rung != recover::Rung::kReprovision) {
    return OkStatus();
  }
  if (isatty(STDIN_FILENO) != 1 || isatty(STDERR_FILENO) != 1) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: re-provisioning makes new secrets and "
                              "every user must sign in again; confirm on a "
                              "terminal or add --yes. Nothing was changed",
                              diagnosis.vps.str()));
  }
  fmt::print(stderr,
             "{}: {} secrets are gone. Re-provision them and tell the "
             "customer that all users must re-authenticate? [y/N] ",
             diagnosis.vps.str(), diagnosis.lost.size());
  (void)std::fflush(stderr);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "y" && answer != "yes") {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: not confirmed; nothing was changed",
                              diagnosis.vps.str()));
  }
  return OkStatus();
}

nlohmann::json ReportJson(const recover::Report& report, bool dry_run) {
  const recover::Diagnosis& diagnosis = report.diagnosis;
  nlohmann::json notice = nlohmann::json::array();
  for (const recover::NoticeDelivery& delivery : report.notice) {
    notice.push_back({{"channel", delivery.channel},
                      {"ok", delivery.ok},
                      {"error", delivery.error}});
  }
  return {{"vps", diagnosis.vps.str()},
          {"rung", static_cast<int>(diagnosis.rung)},
          {"rung_name", recover::RungName(diagnosis.rung)},
          {"dry_run", dry_run},
          {"findings", diagnosis.findings},
          {"plan", diagnosis.plan},
          {"calls", report.calls},
          {"lost", diagnosis.lost},
          {"container_ref", report.record.container_ref},
          {"recovered_at",
           report.record.recovered_at
               ? nlohmann::json(FormatIso8601(*report.record.recovered_at))
               : nlohmann::json(nullptr)},
          {"notice", notice},
          {"notice_unsent", report.notice_unsent}};
}

void PrintOne(const recover::Report& report, bool dry_run) {
  const recover::Diagnosis& diagnosis = report.diagnosis;
  std::string_view verdict = diagnosis.rung == recover::Rung::kNothingToDo ? ""
                             : dry_run ? " (dry run: planned)"
                                       : " (done)";
  fmt::print("{}: rung {}: {}{}\n", diagnosis.vps.str(),
             static_cast<int>(diagnosis.rung),
             recover::RungName(diagnosis.rung), verdict);
  for (const std::string& finding : diagnosis.findings) {
    fmt::print("  found: {}\n", finding);
  }
  for (const std::string& call : dry_run ? diagnosis.plan : report.calls) {
    fmt::print("  {}: {}\n", dry_run ? "would" : "did", call);
  }
  if (!dry_run && diagnosis.rung != recover::Rung::kNothingToDo) {
    fmt::print("  container: {}\n", report.record.container_ref);
  }
  for (const recover::NoticeDelivery& delivery : report.notice) {
    fmt::print("  customer notice via {}: {}\n", delivery.channel,
               delivery.ok ? "sent" : "FAILED: " + delivery.error);
  }
  if (report.notice_unsent) {
    fmt::print(
        "  customer notice: NOT SENT, no channel serves 'customer'; "
        "tell the customer yourself\n");
  }
}

// Everything one run needs, opened once.
struct Session {
  Records records;
  std::unique_ptr<barbican::Connection> connection;
  std::unique_ptr<provision::Readers> readers;
  std::unique_ptr<notify::Notifier> notifier;
  std::unique_ptr<recover::Recoverer> recoverer;
  std::optional<backup::Bundle> bundle;
};

// One VPS: lock, diagnose, confirm, act.
Result<recover::Report> RecoverOne(Session& session,
                                   const Flags& flags,
                                   const records::VpsId& vps) {
  std::optional<records::FileLock> lock;
  if (!flags.dry_run) {
    auto held = session.records.store->LockFor(
        fmt::format(".{}.lock", vps.str()),
        std::chrono::milliseconds(
            static_cast<int64_t>(flags.records.lock_wait_seconds * 1000)));
    if (!held.ok()) {
      return held.status();
    }
    lock = std::move(*held);
  }
  const backup::Bundle* bundle = session.bundle ? &*session.bundle : nullptr;
  auto diagnosis = session.recoverer->Diagnose(vps, bundle);
  if (!diagnosis.ok()) {
    return diagnosis.status();
  }
  if (flags.dry_run) {
    return recover::Report{.diagnosis = *diagnosis,
                           .record = diagnosis->target};
  }
  SIQ_RETURN_IF_ERROR(Confirm(flags, *diagnosis));
  return session.recoverer->Act(*diagnosis);
}

Result<std::vector<records::VpsId>> VpsToCheck(const Flags& flags,
                                               Session& session) {
  if (!flags.all) {
    auto vps = records::VpsId::Parse(flags.vps);
    if (!vps.ok()) {
      return vps.status();
    }
    return std::vector<records::VpsId>{*vps};
  }
  auto all = session.records.store->LoadAll();
  if (!all.ok()) {
    return all.status();
  }
  std::set<records::VpsId> ids;
  for (const records::Deployment& deployment : *all) {
    ids.insert(deployment.vps);
  }
  if (session.bundle) {
    for (const records::Deployment& deployment : session.bundle->deployments) {
      ids.insert(deployment.vps);
    }
  }
  return std::vector<records::VpsId>(ids.begin(), ids.end());
}

Status Open(const GlobalOptions& options,
            const Flags& flags,
            Session& session) {
  auto records = OpenRecords(flags.records,
                             flags.dry_run ? Access::kRead : Access::kWrite);
  if (!records.ok()) {
    return records.status();
  }
  session.records = std::move(*records);
  bool record_missing = false;
  if (!flags.all) {
    auto vps = records::VpsId::Parse(flags.vps);
    if (!vps.ok()) {
      return vps.status();
    }
    auto stored = session.records.store->Load(*vps);
    if (!stored.ok()) {
      return stored.status();
    }
    record_missing = !stored->has_value();
  }
  auto bundle = LoadBundle(flags, session.records.config, record_missing);
  if (!bundle.ok()) {
    return bundle.status();
  }
  session.bundle = std::move(*bundle);

  auto connection = Connect(options);
  if (!connection.ok()) {
    return connection.status();
  }
  session.connection = std::move(*connection);
  session.readers = std::make_unique<provision::Readers>(
      session.connection->session().transport(),
      session.connection->session().config(), session.records.config.readers);
  session.notifier = notify::MakeNotifier(session.records.config);
  session.recoverer = std::make_unique<recover::Recoverer>(
      session.connection->barbican(), *session.records.store, *session.readers,
      session.records.config.secret_kinds, *session.notifier);
  return OkStatus();
}

ExitCode RunAll(Session& session,
                const Flags& flags,
                const std::vector<records::VpsId>& ids) {
  std::vector<Row> rows;
  nlohmann::json list = nlohmann::json::array();
  int highest = 1;
  size_t failed = 0;
  bool progress = isatty(STDERR_FILENO) == 1;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (progress) {
      fmt::print(stderr, "\rsiq: recover {}/{} {}\033[K", i + 1, ids.size(),
                 ids[i].str());
    }
    auto report = RecoverOne(session, flags, ids[i]);
    if (!report.ok()) {
      ++failed;
      rows.push_back({ids[i].str(), "-", "failed", report.status().message()});
      list.push_back(
          {{"vps", ids[i].str()}, {"error", report.status().message()}});
      continue;
    }
    recover::Rung rung = report->diagnosis.rung;
    highest = std::max(highest, static_cast<int>(rung));
    rows.push_back({ids[i].str(), std::to_string(static_cast<int>(rung)),
                    std::string(recover::RungName(rung)),
                    report->diagnosis.findings.empty()
                        ? ""
                        : report->diagnosis.findings.front()});
    list.push_back(ReportJson(*report, flags.dry_run));
  }
  if (progress) {
    fmt::print(stderr, "\r\033[K");
  }
  if (flags.format == OutputFormat::kJson) {
    PrintJson({{"dry_run", flags.dry_run},
               {"checked", ids.size()},
               {"failed", failed},
               {"vps", list}});
  } else {
    PrintTable({"vps", "rung", "outcome", "first finding"}, rows);
    fmt::print("{} checked, {} failed{}\n", ids.size(), failed,
               flags.dry_run ? " (dry run: nothing changed)" : "");
  }
  if (failed > 0) {
    return failed == ids.size() ? ExitCode::kRuntime
                                : ExitCode::kPartialFailure;
  }
  return RungExit(static_cast<recover::Rung>(highest));
}

ExitCode RunRecover(const GlobalOptions& options, const Flags& flags) {
  if (flags.all == !flags.vps.empty()) {
    return Fail(Status(StatusCode::kInvalidArgument, "name one VPS, or --all"));
  }
  Session session;
  Status opened = Open(options, flags, session);
  if (!opened.ok()) {
    return Fail(opened.WithContext("recover"));
  }
  auto ids = VpsToCheck(flags, session);
  if (!ids.ok()) {
    return Fail(ids.status());
  }
  if (flags.all) {
    return RunAll(session, flags, *ids);
  }
  auto report = RecoverOne(session, flags, ids->front());
  if (!report.ok()) {
    return Fail(
        report.status().WithContext(fmt::format("recovering {}", flags.vps)));
  }
  if (flags.format == OutputFormat::kJson) {
    PrintJson(ReportJson(*report, flags.dry_run));
  } else {
    PrintOne(*report, flags.dry_run);
  }
  return RungExit(report->diagnosis.rung);
}

void AddRecover(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "recover", "Diagnose a VPS's secrets and put them right");
  command->footer(kFooter);
  auto flags = std::make_shared<Flags>();
  auto* vps = command->add_option("vps", flags->vps, "the VPS to recover");
  command->add_flag("--all", flags->all, "every VPS, with a summary")
      ->excludes(vps)
      ->group("Command");
  command
      ->add_option("--from-backup", flags->from_backup,
                   "the bundle to restore from (default: the newest in the "
                   "backup directory, when one is needed)")
      ->group("Backup");
  command
      ->add_option("--backup-dir", flags->backup_dir,
                   "backup directory (default: the config's "
                   "backup.directory)")
      ->group("Backup");
  command->add_option("--key", flags->key, "private key (PEM) of a recipient")
      ->group("Backup");
  command
      ->add_option("--cert", flags->cert,
                   "the recipient's certificate (PEM), to pick its entry")
      ->group("Backup");
  auto* fd = command
                 ->add_option("--passphrase-fd", flags->passphrase_fd,
                              "read the bundle's passphrase from this file "
                              "descriptor")
                 ->group("Backup");
  command
      ->add_flag("--ask-passphrase", flags->ask_passphrase,
                 "ask for the bundle's passphrase on the terminal")
      ->excludes(fd)
      ->group("Backup");
  command
      ->add_flag("--dry-run", flags->dry_run,
                 "name the rung and the plan; change nothing")
      ->group("Command");
  command
      ->add_flag("--yes", flags->yes,
                 "re-provision without asking for confirmation")
      ->group("Command");
  AddRecordOptions(*command, flags->records);
  AddOutputOption(*command, flags->format);
  command->callback([&options, &action, flags] {
    action = [&options, flags] { return RunRecover(options, *flags); };
  });
}

}  // namespace

const Command kRecoverCommand = {
    "recover", "Diagnose a VPS's secrets and put them right", AddRecover};

}  // namespace siq::cli
