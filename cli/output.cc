#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <fmt/format.h>

namespace siq::cli {
namespace {

void PrintRow(const Row& row, const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i + 1 == row.size()) {
      line += row[i];  // no trailing spaces after the last column
    } else {
      line += fmt::format("{:<{}}  ", row[i], widths[i]);
    }
  }
  fmt::print("{}\n", line);
}

}  // namespace

void PrintTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) {
    widths[i] = header[i].size();
  }
  for (const Row& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  Row upper = header;
  for (std::string& cell : upper) {
    std::transform(cell.begin(), cell.end(), cell.begin(),
                   [](unsigned char c) { return std::toupper(c); });
  }
  PrintRow(upper, widths);
  for (const Row& row : rows) {
    PrintRow(row, widths);
  }
}

void PrintJson(const nlohmann::json& doc) {
  fmt::print("{}\n", doc.dump(2));
}

}  // namespace siq::cli
