#include "core/base/log.h"

#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace siq::log {
namespace {

spdlog::level::level_enum LevelFor(Verbosity verbosity) {
  switch (verbosity) {
    case Verbosity::kQuiet:
      return spdlog::level::err;
    case Verbosity::kDefault:
      return spdlog::level::warn;
    case Verbosity::kInfo:
      return spdlog::level::info;
    case Verbosity::kDebug:
      return spdlog::level::debug;
  }
  return spdlog::level::warn;
}

struct Registry {
  std::mutex mutex;
  spdlog::level::level_enum level = spdlog::level::warn;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
};

Registry& GetRegistry() {
  static auto* registry = new Registry();
  return *registry;
}

}  // namespace

std::shared_ptr<spdlog::logger> Get(std::string_view area) {
  Registry& registry = GetRegistry();
  std::lock_guard lock(registry.mutex);
  std::string name(area);
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(name, registry.sink);
  logger->set_pattern("siq: %n: %l: %v");
  logger->set_level(registry.level);
  spdlog::register_logger(logger);
  return logger;
}

void SetVerbosity(Verbosity verbosity) {
  Registry& registry = GetRegistry();
  std::lock_guard lock(registry.mutex);
  registry.level = LevelFor(verbosity);
  spdlog::set_level(registry.level);
}

}  // namespace siq::log
