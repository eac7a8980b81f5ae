#include "core/run/secret_loader.h"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "core/base/encoding.h"
#include "core/base/iso_time.h"
#include "core/base/log.h"

namespace siq::run {
namespace {

constexpr std::string_view kPreviousSuffix = "_PREVIOUS";

barbican::Consumer ConsumerFor(const std::string& vps) {
  return {std::string(kConsumerService), std::string(kConsumerResourceType),
          vps};
}

}  // namespace

Result<std::vector<Selection>> SelectCurrentAndPrevious(
    const std::vector<DatedEntry>& entries) {
  std::map<std::string, std::vector<const DatedEntry*>> by_kind;
  for (const DatedEntry& entry : entries) {
    by_kind[entry.kind].push_back(&entry);
  }

  std::vector<Selection> selections;
  for (auto& [kind, dated] : by_kind) {
    if (dated.size() > 2) {
      return Status(StatusCode::kConflict,
                    fmt::format("the container holds {} secrets named {}; at "
                                "most two (current and previous) are allowed",
                                dated.size(), kind));
    }
    std::sort(dated.begin(), dated.end(),
              [](const DatedEntry* a, const DatedEntry* b) {
                return a->created > b->created;
              });
    selections.push_back({kind, kind, dated[0]->ref});
    if (dated.size() == 2) {
      if (dated[0]->created == dated[1]->created) {
        return Status(
            StatusCode::kConflict,
            fmt::format("the two secrets named {} ({} and {}) were created at "
                        "the same time: cannot tell current from previous",
                        kind, dated[0]->ref.url(), dated[1]->ref.url()));
      }
      selections.push_back(
          {kind + std::string(kPreviousSuffix), kind, dated[1]->ref});
    }
  }
  std::sort(selections.begin(), selections.end(),
            [](const Selection& a, const Selection& b) {
              return a.variable < b.variable;
            });
  return selections;
}

std::string Fingerprint(const barbican::SecretRef& ref) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::string_view id = ref.id();
  if (EVP_Digest(id.data(), id.size(), digest, &length, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  // The hex of a hash of a ref is no secret; it only travels as SecretBytes
  // because that is what the encoder returns.
  SecretBytes hex =
      EncodeHex(std::string_view(reinterpret_cast<char*>(digest), length));
  return std::string(hex.Reveal().substr(0, 16));
}

SecretLoader::SecretLoader(barbican::Client& client, std::string vps)
    : client_(client), vps_(std::move(vps)) {}

Result<barbican::Container> SecretLoader::FindContainer(
    const barbican::ContainerRef& container) {
  if (!container.empty()) {
    return client_.GetContainer(container);
  }

  auto found = client_.ListContainers(vps_);
  if (!found.ok() && found.status().code() == StatusCode::kPermissionDenied) {
    return found.status().WithContext(
        fmt::format("finding the container of {} (a reader may not list "
                    "containers: name it with --container REF)",
                    vps_));
  }
  if (!found.ok()) {
    return found.status();
  }
  if (found->empty()) {
    return Status(StatusCode::kNotFound,
                  fmt::format("no container named {} is visible to this "
                              "identity; a reader outside the deployment's "
                              "project must name it with --container REF",
                              vps_));
  }
  if (found->size() > 1) {
    return Status(StatusCode::kConflict,
                  fmt::format("{} containers are named {}; name the right "
                              "one with --container REF",
                              found->size(), vps_));
  }
  return std::move(found->front());
}

Result<std::vector<Selection>> SecretLoader::Select(
    const barbican::Container& container) {
  std::vector<DatedEntry> dated;
  for (const barbican::ContainerEntry& entry : container.secrets) {
    auto meta = client_.GetSecret(entry.ref);
    if (!meta.ok()) {
      return meta.status().WithContext(fmt::format(
          "secret {} of container {}", entry.name, container.ref.url()));
    }
    auto created = ParseIso8601(meta->created);
    if (!created.ok()) {
      return created.status().WithContext(
          fmt::format("the creation time of secret {}", entry.ref.url()));
    }
    dated.push_back({entry.name, entry.ref, *created});
  }
  return SelectCurrentAndPrevious(dated);
}

Result<std::vector<LoadedSecret>> SecretLoader::Load(
    const std::vector<Selection>& selections) {
  std::vector<LoadedSecret> loaded;
  for (const Selection& selection : selections) {
    auto value = client_.GetPayload(selection.ref);
    if (!value.ok()) {
      return value.status().WithContext(
          fmt::format("secret {} of {}", selection.variable, vps_));
    }
    loaded.push_back(
        {selection, Fingerprint(selection.ref), std::move(*value)});
  }
  log::Get("run")->info("loaded {} secrets of {}", loaded.size(), vps_);
  return loaded;
}

std::vector<CheckedSecret> SecretLoader::Check(
    const std::vector<Selection>& selections) {
  std::vector<CheckedSecret> checked;
  for (const Selection& selection : selections) {
    auto value = client_.GetPayload(selection.ref);
    checked.push_back({selection, Fingerprint(selection.ref),
                       value.ok() ? OkStatus() : value.status(),
                       value.ok() ? value->size() : 0});
  }
  return checked;
}

Status SecretLoader::UpdateConsumers(
    const std::vector<barbican::SecretRef>& refs,
    const std::vector<barbican::SecretRef>& dropped) {
  barbican::Consumer consumer = ConsumerFor(vps_);
  Status first;
  for (const barbican::SecretRef& ref : refs) {
    Status added = client_.AddSecretConsumer(ref, consumer);
    if (!added.ok() && first.ok()) {
      first = added;
    }
  }
  for (const barbican::SecretRef& ref : dropped) {
    Status removed = client_.RemoveSecretConsumer(ref, consumer);
    // Already gone (or the secret deleted by a finished rotation) is the
    // state we want.
    if (!removed.ok() && removed.code() != StatusCode::kNotFound &&
        first.ok()) {
      first = removed;
    }
  }
  return first;
}

}  // namespace siq::run
