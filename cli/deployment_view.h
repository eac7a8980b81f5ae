// How a deployment record reads on stdout, for `provision` and `status`:
// the VPS and its container, then one row per secret kind. References and
// dates only: a record holds nothing else.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "core/records/deployment.h"

namespace siq::cli {

// The record as JSON for scripts: stable field names, refs and ISO times.
nlohmann::json DeploymentJson(const records::Deployment& deployment);

// The record as a header block and a table of secret kinds.
void PrintDeployment(const records::Deployment& deployment);

// One row per record: VPS, organisation, environment, state, secrets, next
// due date.
void PrintDeploymentList(const std::vector<records::Deployment>& deployments);

}  // namespace siq::cli
