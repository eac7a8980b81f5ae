// What the integration tests share: the local OpenStack stack that
// scripts/dev-stack.sh started (found through the variables its `env`
// command prints), connections as the deployment account or the admin, a
// transport that records what the real server answered, and a way to run
// the built siq binary and capture what it printed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/barbican/client.h"
#include "core/keystone/auth_config.h"
#include "core/keystone/session.h"
#include "core/transport/curl_transport.h"

namespace siq::testing {

// The deployment account, from OS_* as `dev-stack.sh env` sets them.
keystone::AuthConfig DeployerConfig();
// The stack's admin, from the siq-admin entry of the stack's clouds.yaml.
keystone::AuthConfig AdminConfig();
// A variable the stack's env sets (SIQ_SHORT_AUTH_URL, SIQ_AUDIT_LOG, ...);
// fails the calling test when it is missing.
std::string StackVariable(const char* name);

// A name no other test run has used: "<what>-<pid>-<counter>".
std::string UniqueName(std::string_view what);

// A real transport that also keeps every answer's status and body.
class RecordingTransport : public http::Transport {
 public:
  struct Exchange {
    http::Method method;
    std::string url;
    int status = 0;
    std::string body;  // the plain body, or the sensitive one's bytes
  };

  RecordingTransport();
  [[nodiscard]] Result<http::Response> Send(
      const http::Request& request) override;
  const std::vector<Exchange>& exchanges() const { return exchanges_; }
  int CountRequestsTo(std::string_view path_suffix) const;

 private:
  http::CurlTransport real_;
  std::vector<Exchange> exchanges_;
};

// A session and Barbican client over one transport, for a test's lifetime.
struct Connected {
  explicit Connected(keystone::AuthConfig config);
  RecordingTransport transport;
  keystone::Session session;
  barbican::Client barbican;
};

// A reader identity made by the admin for a test: a user in the readers'
// domain with the reader role on the readers' project.
struct TestReader {
  std::string id;
  std::string name;
  keystone::AuthConfig config;  // password auth, scoped to the project
};
TestReader CreateTestReader(std::string_view what);
void DeleteUser(const std::string& user_id);

// The connection settings of the "siq-reader" cloud in a clouds.yaml file
// that `siq provision --create-reader` wrote.
keystone::AuthConfig ReaderFromCloudsYaml(const std::string& path);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct RunOptions {
  // Changes to this process's environment: a value sets a variable, an
  // empty value removes it.
  std::map<std::string, std::string> env;
  // When set, file descriptor 3 of siq is this file, opened for writing.
  std::string fd3_path;
  // When set, siq's standard input is this file instead of /dev/null.
  std::string stdin_path;
};

// A siq process started in the background.
class SiqProcess {
 public:
  SiqProcess(const std::vector<std::string>& args, const RunOptions& options);
  // Waits for it to end and returns what it printed.
  RunResult Wait();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string out_path_;
  std::string err_path_;
};

// Runs the siq binary with `args` and waits for it.
RunResult RunSiq(const std::vector<std::string>& args,
                 const RunOptions& options = {});

// The whole content of a file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace siq::testing
