#include "tests/integration/stack.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/keystone/identity.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::testing {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

keystone::AuthConfig MustLoad(const keystone::AuthFlags& flags,
                              const keystone::EnvLookup& env) {
  auto config =
      keystone::LoadAuthConfig(flags, env, keystone::CloudsYamlPaths(env));
  if (!config.ok()) {
    ADD_FAILURE() << "the local stack's settings: " << config.status().message()
                  << " (run: eval \"$(scripts/dev-stack.sh env)\")";
    return {};
  }
  return std::move(*config);
}

}  // namespace

keystone::AuthConfig DeployerConfig() {
  return MustLoad({}, keystone::ProcessEnvironment());
}

keystone::AuthConfig AdminConfig() {
  // Only the clouds.yaml entry counts: the deployer's OS_* must not leak in.
  keystone::EnvLookup process = keystone::ProcessEnvironment();
  keystone::EnvLookup env =
      [process](std::string_view name) -> std::optional<std::string> {
    if (name == "OS_CLIENT_CONFIG_FILE" || name == "HOME") {
      return process(name);
    }
    return std::nullopt;
  };
  keystone::AuthFlags flags;
  flags.os_cloud = "siq-admin";
  return MustLoad(flags, env);
}

std::string StackVariable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set (run: eval \"$(scripts/dev-stack.sh "
                  << "env)\")";
    return "";
  }
  return value;
}

std::string UniqueName(std::string_view what) {
  static std::atomic<int> counter{0};
  return fmt::format("{}-{}-{}", what, getpid(), counter++);
}

TestReader CreateTestReader(std::string_view what) {
  Connected admin(AdminConfig());
  keystone::Identity identity(admin.session);
  TestReader reader;
  reader.name = UniqueName(what);
  auto domain = identity.FindDomainId("siq-readers");
  auto project = domain.ok() ? identity.FindProjectId("siq-readers", *domain)
                             : Result<std::string>(domain.status());
  auto role = identity.FindRoleId("siq-vps-reader");
  if (!project.ok() || !role.ok()) {
    ADD_FAILURE() << "the stack has no readers' project or role";
    return reader;
  }
  SecretBytes password = keystone::RandomPassword();
  auto id = identity.CreateUser(reader.name, *domain, *project, password);
  if (!id.ok() || !identity.GrantProjectRole(*project, *id, *role).ok()) {
    ADD_FAILURE() << "cannot create reader " << reader.name;
    return reader;
  }
  reader.id = *id;
  reader.config.auth_url = admin.session.config().auth_url;
  reader.config.user_id = *id;
  reader.config.password = std::move(password);
  reader.config.project_id = *project;
  return reader;
}

void DeleteUser(const std::string& user_id) {
  Connected admin(AdminConfig());
  keystone::Identity identity(admin.session);
  EXPECT_TRUE(identity.DeleteUser(user_id).ok()) << user_id;
}

keystone::AuthConfig ReaderFromCloudsYaml(const std::string& path) {
  keystone::EnvLookup env =
      [path](std::string_view name) -> std::optional<std::string> {
    if (name == "OS_CLIENT_CONFIG_FILE") {
      return path;
    }
    return std::nullopt;
  };
  keystone::AuthFlags flags;
  flags.os_cloud = "siq-reader";
  return MustLoad(flags, env);
}

RecordingTransport::RecordingTransport() : real_(http::TransportOptions{}) {}

Result<http::Response> RecordingTransport::Send(const http::Request& request) {
  auto response = real_.Send(request);
  if (response.ok()) {
    exchanges_.push_back({request.method, request.url, response->status,
                          request.sensitive_body == http::SensitiveBody::kYes
                              ? std::string(response->secret_body.Reveal())
                              : response->body});
  }
  return response;
}

int RecordingTransport::CountRequestsTo(std::string_view path_suffix) const {
  int count = 0;
  for (const Exchange& exchange : exchanges_) {
    if (http::PathOf(exchange.url).ends_with(path_suffix)) {
      ++count;
    }
  }
  return count;
}

Connected::Connected(keystone::AuthConfig config)
    : session(transport, std::move(config)), barbican(session) {}

SiqProcess::SiqProcess(const std::vector<std::string>& args,
                       const RunOptions& options)
    : out_path_(::testing::TempDir() + UniqueName("siq-out")),
      err_path_(::testing::TempDir() + UniqueName("siq-err")) {
  std::vector<std::string> argv_storage = {SIQ_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view line(*entry);
    std::string name(line.substr(0, line.find('=')));
    if (options.env.count(name) == 0) {
      env_storage.emplace_back(line);
    }
  }
  for (const auto& [name, value] : options.env) {
    if (!value.empty()) {
      env_storage.push_back(name + "=" + value);
    }
  }
  std::vector<char*> envp;
  for (std::string& entry : env_storage) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, 0,
      options.stdin_path.empty() ? "/dev/null" : options.stdin_path.c_str(),
      O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!options.fd3_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 3, options.fd3_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  pid_t pid = 0;
  int error = posix_spawn(&pid, SIQ_BINARY, &actions, nullptr, argv.data(),
                          envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    ADD_FAILURE() << "cannot start " << SIQ_BINARY;
    return;
  }
  pid_ = pid;
}

RunResult SiqProcess::Wait() {
  RunResult result;
  if (pid_ < 0) {
    return result;
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  result.exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                     : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                           : -1;
  result.out = ReadFile(out_path_);
  result.err = ReadFile(err_path_);
  unlink(out_path_.c_str());
  unlink(err_path_.c_str());
  return result;
}

RunResult RunSiq(const std::vector<std::string>& args,
                 const RunOptions& options) {
  return SiqProcess(args, options).Wait();
}

}  // namespace siq::testing
