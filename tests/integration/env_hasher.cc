// siq_env_hasher: the child program of the `siq run` tests. It writes, to the
// file named by --out, one line "NAME <sha256 hex>" per variable named on
// its command line (the SHA-256 of the value after --decode), plus its pid
// and a generation number; never a value. On HUP it reads a new set from
// the pipe on SIQ_SECRETS_FD, when there is one, and writes the file again.
//
//   siq_env_hasher --out FILE [--decode base64|hex|raw] [--exit N] NAME...

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <openssl/evp.h>

namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < size; ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 15];
  }
  return hex;
}

std::string Decode(const std::string& value, const std::string& mode) {
  if (mode == "hex") {
    std::string out;
    for (size_t i = 0; i + 1 < value.size(); i += 2) {
      out += static_cast<char>(std::stoi(value.substr(i, 2), nullptr, 16));
    }
    return out;
  }
  if (mode == "base64") {
    std::string out(value.size(), '\0');
    int size =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(value.data()),
                        static_cast<int>(value.size()));
    if (size < 0) {
      return "<bad base64>";
    }
    size_t padding = 0;
    for (size_t i = value.size(); i > 0 && value[i - 1] == '='; --i) {
      ++padding;
    }
    out.resize(static_cast<size_t>(size) - padding);
    return out;
  }
  return value;
}

std::string Sha256(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return Hex(digest, size);
}

struct State {
  std::string out;
  std::string decode = "base64";
  std::vector<std::string> names;
  std::map<std::string, std::string> values;
  int generation = 0;
};

void Write(const State& state) {
  std::string temporary = state.out + ".tmp";
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << "pid " << getpid() << "\n";
    file << "generation " << state.generation << "\n";
    for (const std::string& name : state.names) {
      auto found = state.values.find(name);
      file << name << " "
           << (found == state.values.end()
                   ? std::string("missing")
                   : Sha256(Decode(found->second, state.decode)))
           << "\n";
    }
  }
  std::rename(temporary.c_str(), state.out.c_str());
}

// Reads one set: "NAME=value" entries each ended by a NUL, then a NUL.
void ReadSet(int fd, State& state) {
  std::map<std::string, std::string> values;
  std::string entry;
  char byte = 0;
  while (read(fd, &byte, 1) == 1) {
    if (byte != '\0') {
      entry += byte;
      continue;
    }
    if (entry.empty()) {
      state.values = values;
      return;
    }
    size_t equals = entry.find('=');
    values[entry.substr(0, equals)] = entry.substr(equals + 1);
    entry.clear();
  }
}

}  // namespace

int main(int argc, char** argv) {
  State state;
  int exit_code = -1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      state.out = argv[++i];
    } else if (arg == "--decode" && i + 1 < argc) {
      state.decode = argv[++i];
    } else if (arg == "--exit" && i + 1 < argc) {
      exit_code = std::atoi(argv[++i]);
    } else {
      state.names.push_back(arg);
    }
  }
  for (const std::string& name : state.names) {
    if (const char* value = std::getenv(name.c_str())) {
      state.values[name] = value;
    }
  }

  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  sigprocmask(SIG_BLOCK, &hup, nullptr);
  Write(state);
  if (exit_code >= 0) {
    return exit_code;
  }
  const char* fd = std::getenv("SIQ_SECRETS_FD");
  for (;;) {
    int signal = 0;
    sigwait(&hup, &signal);
    if (fd != nullptr) {
      ReadSet(std::atoi(fd), state);
    }
    ++state.generation;
    Write(state);
  }
}
