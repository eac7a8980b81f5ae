// What every subcommand shares: the global options (connection, logging),
// the output format, opening a connection, and reporting an error. A
// subcommand registers itself through a Command entry in commands.h.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/barbican/connection.h"
#include "core/base/exit_codes.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/keystone/auth_config.h"
#include "core/records/store.h"

namespace siq::cli {

enum class OutputFormat { kTable, kJson };

struct GlobalOptions {
  int verbosity = 0;
  bool quiet = false;
  keystone::AuthFlags auth;
  double timeout_seconds = 60;
  double connect_timeout_seconds = 10;
};

// Where siq's config and deployment records are, for commands that use them.
struct RecordOptions {
  std::string config;   // --config, else SIQ_CONFIG
  std::string records;  // --records, else the config's, else the default
  double lock_wait_seconds = 10;
};

// The config and the record store it names.
struct Records {
  config::Config config;
  std::unique_ptr<records::FileRecordStore> store;
};

enum class Access { kRead, kWrite };

// What a subcommand does once its arguments are parsed.
using Action = std::function<ExitCode()>;

// A subcommand: its name, its one-line summary, and how it adds itself to
// the app (options, help, and the action to run when chosen).
struct Command {
  std::string_view name;
  std::string_view summary;
  void (*add)(CLI::App& app, GlobalOptions& options, Action& action);
};

// The connection, logging and timeout options, shared by every subcommand.
void AddGlobalOptions(CLI::App& app, GlobalOptions& options);

// --output table|json on `command`.
void AddOutputOption(CLI::App& command, OutputFormat& format);

// --config, --records and --lock-wait on `command`.
void AddRecordOptions(CLI::App& command, RecordOptions& options);

// Loads the config and opens the record store. For kWrite, creates the
// store's directory (mode 0700) when it does not exist yet.
Result<Records> OpenRecords(const RecordOptions& options, Access access);

// Applies -v/-q to the loggers. Called once, after parsing.
void ApplyVerbosity(const GlobalOptions& options);

// --timeout and --connect-timeout as transport options.
http::TransportOptions TransportFrom(const GlobalOptions& options);

// The role of the role table that siq acts as, and its variables.
struct ActingRole {
  std::string role;
  std::map<std::string, std::string> vars;  // "vps_id" -> "vps-1"
};

// The config file a command's --config named, for Connect; AddRecordOptions
// calls it, and so does any other --config option.
void RememberConfigFlag(const std::string& path);

// Puts the policy guard (core/policy/guard.h) on `connection`, so that no
// Barbican request is sent that the acting role's policies refuse. The
// config (--config, else SIQ_CONFIG, else the defaults) names the role
// (`role:`) and the policy directory (`policies:`; the built-in policies
// when the default directory is not installed); `acting`, when given, is
// the role instead. Fails on a bad config or policy file, naming it.
Status GuardConnection(barbican::Connection& connection,
                       const std::optional<ActingRole>& acting = std::nullopt);

// When a connection authenticates: at once, so that refused credentials
// stop a command before it changes anything (exit 7) and Keystone sees one
// failed attempt rather than one per item; or at the first request, for
// doctor, which reports authentication as a check of its own.
enum class AuthenticateAt { kConnect, kFirstRequest };

// Loads the credentials (flags, OS_*, clouds.yaml), removes the secret ones
// from the environment, builds a connection guarded by the policies as
// GuardConnection says, and authenticates as `when` says.
Result<std::unique_ptr<barbican::Connection>> Connect(
    const GlobalOptions& options,
    const std::optional<ActingRole>& acting = std::nullopt,
    AuthenticateAt when = AuthenticateAt::kConnect);

// As Connect, but the parts that threads share: one token, one pool; each
// connection it makes is guarded as GuardConnection says.
Result<std::unique_ptr<barbican::ConnectionShare>> ConnectShared(
    const GlobalOptions& options);

// Prints "siq: error: ..." on stderr and returns the status's exit code.
ExitCode Fail(const Status& status);

}  // namespace siq::cli
