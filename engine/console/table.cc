#include "engine/console/table.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocols/common/json.h"

namespace ringstack::engine {
namespace {

std::string CellText(const Table::Cell& c) {
  if (const auto* s = std::get_if<std::string>(&c)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&c)) return absl::StrCat(*i);
  return absl::StrFormat("%.3f", std::get<double>(c));
}

std::string CellJson(const Table::Cell& c) {
  if (const auto* s = std::get_if<std::string>(&c)) return JsonString(*s);
  return CellText(c);
}

}  // namespace

std::string JsonString(std::string_view s) { return proto::json::Quote(s); }

std::string Table::Text() const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].size();
  std::vector<std::vector<std::string>> text;
  for (const auto& row : rows_) {
    text.emplace_back();
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      text.back().push_back(c < row.size() ? CellText(row[c]) : "");
      width[c] = std::max(width[c], text.back().back().size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells, const std::vector<Cell>* row) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool number = row != nullptr && c < row->size() && !std::holds_alternative<std::string>((*row)[c]);
      const std::size_t pad = width[c] - cells[c].size();
      const bool last = c + 1 == cells.size();
      if (number) out.append(pad, ' ');
      out += cells[c];
      if (!number && !last) out.append(pad, ' ');
      if (!last) out += "  ";
    }
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const auto& c : columns_) header.push_back(absl::AsciiStrToUpper(c));
  std::string out = line(header, nullptr);
  for (std::size_t r = 0; r < rows_.size(); ++r) out += line(text[r], &rows_[r]);
  return out;
}

std::string Table::Json() const {
  std::string out = "[";
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    out += r == 0 ? "\n  {" : ",\n  {";
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      absl::StrAppend(&out, c == 0 ? "" : ", ", JsonString(columns_[c]), ": ",
                      c < rows_[r].size() ? CellJson(rows_[r][c]) : "null");
    }
    out += "}";
  }
  out += rows_.empty() ? "]\n" : "\n]\n";
  return out;
}

}  // namespace ringstack::engine
