// siq: production secrets on OpenStack Barbican. main() builds the command
// line from the table of subcommands, runs the chosen one and returns its
// exit code; everything else lives in the subcommands and the core.

#include <csignal>
#include <cstdio>
#include <exception>
#include <system_error>

#include <CLI/CLI.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "core/base/exit_codes.h"
#include "core/base/secret.h"
#include "core/base/version.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app("siq: production secrets on OpenStack Barbican", "siq");
  app.set_version_flag("--version", siq::kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Exit codes and more: man siq");
  siq::cli::GlobalOptions options;
  siq::cli::AddGlobalOptions(app, options);
  siq::cli::Action action;
  for (const siq::cli::Command* command : siq::cli::kCommands) {
    command->add(app, options, action);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : static_cast<int>(siq::ExitCode::kUsage);
  }
  siq::cli::ApplyVerbosity(options);
  return static_cast<int>(action());
}

}  // namespace

int main(int argc, char** argv) {
  siq::InitSecureMemory();
  // A closed pipe is an error to report (EPIPE), not a silent death.
  (void)std::signal(SIGPIPE, SIG_IGN);
  // The core reports errors as values; an exception here is a bug (or
  // memory exhaustion), and still deserves a message and the runtime code.
  try {
    int code = Run(argc, argv);
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
      (void)std::fprintf(stderr, "siq: error: writing to stdout failed\n");
      return static_cast<int>(siq::ExitCode::kRuntime);
    }
    return code;
  } catch (const std::system_error& error) {
    // fmt reports a failed write to stdout this way.
    (void)std::fprintf(stderr, "siq: error: writing output: %s\n",
                       error.what());
  } catch (const std::exception& error) {
    (void)std::fprintf(stderr, "siq: internal error: %s\n", error.what());
  } catch (...) {
    (void)std::fprintf(stderr, "siq: internal error\n");
  }
  return static_cast<int>(siq::ExitCode::kRuntime);
}
