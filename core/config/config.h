// Config: siq's own settings, from the YAML file named by --config or
// SIQ_CONFIG: where the deployment records live, the catalog of secret
// kinds, and where each VPS's reader identity is created.
//
// Without a file, the defaults hold: the records in
// /var/lib/siq/deployments.json and the seven kinds of the standard's
// rotation table. A Config is a plain value, safe to copy and share.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace siq::config {

// One of the secrets every VPS has.
struct SecretKind {
  std::string kind;      // JWT_SECRET; also the name in the VPS container
  int bit_length = 256;  // an AES key: 128, 192 or 256
  std::string algorithm = "aes";
  std::string mode = "cbc";
  std::chrono::seconds rotate_every{0};
  // Zero: no notice before rotation.
  std::chrono::seconds notify_before{0};
  // Who gets the notice: names of notification groups ("admins").
  std::vector<std::string> notify;
};

// Where reader identities are made: a user per VPS in `domain`, with
// `role` on `project` and nothing else.
struct ReaderSettings {
  std::string domain = "siq-readers";
  std::string project = "siq-readers";
  std::string role = "siq-vps-reader";
};

// Where `siq backup` writes and whom it seals bundles to, unless flags say
// otherwise; `siq recover` looks for the newest bundle in `directory`.
struct BackupSettings {
  std::string directory = "/var/lib/siq/backups";
  std::vector<std::string> recipients;  // PEM certificate files
  int keep = 0;                         // 0: keep every bundle
};

// Where notifications go: one SMTP server or one webhook, for the
// audiences (recipient groups) it lists.
struct NotificationChannel {
  enum class Type { kSmtp, kWebhook };
  std::string name;
  Type type = Type::kSmtp;
  std::string url;              // smtp://, smtps://, http:// or https://
  std::string from;             // smtp
  std::vector<std::string> to;  // smtp
  std::string username;         // smtp, optional
  std::string password_file;    // smtp, optional; read when sending
  std::vector<std::string> audiences;
};

// What `siq audit` needs to know beyond the records.
struct AuditSettings {
  // Keystone users (names or ids) whose reads are the machines', not
  // people's. Every VPS's reader counts as one without being listed.
  std::vector<std::string> service_accounts;
  // The HTTP endpoint of a production VPS, by VPS id, for the /.env probe.
  std::map<std::string, std::string> endpoints;
  // Directories of backup bundles, checked for encryption and mode 0600.
  std::vector<std::string> backup_dirs;
};

// How `siq rotate` learns that a VPS loaded its new secret.
struct Confirmation {
  enum class Method {
    kConsumer,  // the VPS's consumer entry is on the new secret (siq run)
    kHttp,      // GET `url` answers with the new secret's fingerprint
    kCommand,   // `command` exits 0
    kWait,      // `wait` has passed since the container got the secret
  };
  Method method = Method::kConsumer;
  std::string url;
  std::string command;
  std::chrono::seconds wait{0};
};

// The `rotation:` section: confirmation, grace period, retries.
struct RotationSettings {
  // How long the previous secret stays in the container after promotion.
  std::chrono::seconds grace = std::chrono::days(7);
  // A rotation waiting longer than this for a VPS is marked failed.
  std::chrono::seconds confirm_timeout = std::chrono::days(3);
  int attempts = 3;                 // tries of a failing step per run
  std::chrono::seconds backoff{2};  // first pause between tries; doubles
  Confirmation confirm;             // unless the deployment says else
  std::map<std::string, Confirmation> deployments;  // by VPS id

  const Confirmation& ConfirmationFor(std::string_view vps) const;
};

struct Config {
  std::string path;  // the file it came from, or "" for the defaults
  std::string records = "/var/lib/siq/deployments.json";
  // The directory of IAM policies and the role table (`siq policy`).
  std::string policies = "/usr/share/siq/policies";
  // The role of the role table that siq acts as: every Barbican request is
  // checked against its policies first (`siq run` acts as vps-application).
  std::string role = "deployment-service";
  std::vector<SecretKind> secret_kinds;
  ReaderSettings readers;
  std::vector<NotificationChannel> notifications;
  AuditSettings audit;
  RotationSettings rotation;
  BackupSettings backup;
};

// The catalog of the standard's rotation table.
std::vector<SecretKind> DefaultSecretKinds();

// The defaults, or the file at `path` over them when `path` is not empty.
// Fails with kInvalidArgument naming the file and line of an unknown key, a
// bad value or a duplicate kind, and when the file does not exist.
[[nodiscard]] Result<Config> LoadConfig(const std::string& path);

// The Barbican secret name of `kind` for a VPS: "<vps>_<KIND>".
std::string SecretName(std::string_view vps, std::string_view kind);

}  // namespace siq::config
