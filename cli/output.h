// Printing results on stdout: aligned tables for people, JSON for scripts.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace siq::cli {

using Row = std::vector<std::string>;

// Columns padded to their widest cell; the header in capitals.
void PrintTable(const Row& header, const std::vector<Row>& rows);

// Pretty-printed, one document, a newline after it.
void PrintJson(const nlohmann::json& doc);

}  // namespace siq::cli
