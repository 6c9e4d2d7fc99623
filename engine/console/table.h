// Table: rows of named columns, shown to people as aligned text (numbers to
// the right) or to scripts as JSON (an array of objects, numbers as
// numbers). Also the few JSON helpers the console needs (no JSON library
// in the dependency list: strings are escaped per RFC 8259 7).
#ifndef RINGSTACK_ENGINE_CONSOLE_TABLE_H_
#define RINGSTACK_ENGINE_CONSOLE_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringstack::engine {

// A string as a JSON string literal, quotes included.
std::string JsonString(std::string_view s);

class Table {
 public:
  using Cell = std::variant<std::string, std::int64_t, double>;
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  // As many cells as columns.
  void Add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }
  std::size_t size() const { return rows_.size(); }
  // A header line (the column names in capitals) and a line per row.
  std::string Text() const;
  // [{"column": value, ...}, ...]
  std::string Json() const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Cell>> rows_;
};

// Cells from unsigned and other integer types without casts at each call.
template <typename T>
Table::Cell Num(T v) {
  return static_cast<std::int64_t>(v);
}

}  // namespace ringstack::engine

#endif  // RINGSTACK_ENGINE_CONSOLE_TABLE_H_
