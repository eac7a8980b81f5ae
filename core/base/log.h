// Logging: one named spdlog logger per area of the core, all writing to
// stderr so that stdout carries only results. The default level is warn;
// the command line raises it with -v (info) and -vv (debug).
//
// Nothing logged may hold a secret value, token, password or request body:
// log refs, names, counts, statuses and durations. Loggers are thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/logger.h>

namespace siq::log {

enum class Verbosity { kQuiet, kDefault, kInfo, kDebug };

// The logger for `area` ("http", "keystone", "barbican", ...), created on
// first use with the current level.
std::shared_ptr<spdlog::logger> Get(std::string_view area);

// Sets the level of every logger, present and future.
void SetVerbosity(Verbosity verbosity);

}  // namespace siq::log
