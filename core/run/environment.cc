#include "core/run/environment.h"

#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/base/encoding.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::run {

Result<SecretBytes> EncodeValue(std::string_view variable,
                                const SecretBytes& value,
                                Encoding encoding) {
  switch (encoding) {
    case Encoding::kBase64:
      return EncodeBase64(value.Reveal());
    case Encoding::kHex:
      return EncodeHex(value.Reveal());
    case Encoding::kRaw:
      break;
  }
  if (value.Reveal().find('\0') != std::string_view::npos) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} holds a NUL byte, which an environment "
                              "variable cannot carry: use --encoding base64 "
                              "or hex",
                              variable));
  }
  return value.Clone();
}

Result<EnvironmentBlock> EnvironmentBlock::Build(
    const std::vector<std::string>& base,
    const std::vector<LoadedSecret>& secrets,
    Encoding encoding) {
  std::set<std::string_view> names;
  for (const LoadedSecret& secret : secrets) {
    names.insert(secret.selection.variable);
  }

  EnvironmentBlock block;
  for (const std::string& entry : base) {
    std::string_view name = std::string_view(entry).substr(0, entry.find('='));
    if (names.count(name) != 0) {
      continue;
    }
    block.offsets_.push_back(block.block_.size());
    block.block_.Append(entry);
    block.block_.Append('\0');
  }
  for (const LoadedSecret& secret : secrets) {
    auto encoded =
        EncodeValue(secret.selection.variable, secret.value, encoding);
    if (!encoded.ok()) {
      return encoded.status();
    }
    block.offsets_.push_back(block.block_.size());
    block.block_.Append(secret.selection.variable);
    block.block_.Append('=');
    block.block_.Append(encoded->Reveal());
    block.block_.Append('\0');
  }
  return block;
}

char* const* EnvironmentBlock::envp() {
  // execve promises not to write through these pointers; its signature is
  // older than const.
  char* start = const_cast<char*>(block_.Reveal().data());
  pointers_.clear();
  for (size_t offset : offsets_) {
    pointers_.push_back(start + offset);
  }
  pointers_.push_back(nullptr);
  return pointers_.data();
}

std::vector<std::string_view> EnvironmentBlock::Entries() const {
  std::vector<std::string_view> entries;
  std::string_view all = block_.Reveal();
  for (size_t offset : offsets_) {
    std::string_view rest = all.substr(offset);
    entries.push_back(rest.substr(0, rest.find('\0')));
  }
  return entries;
}

std::vector<std::string> ProcessEnvironmentEntries() {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    entries.emplace_back(*entry);
  }
  return entries;
}

}  // namespace siq::run
