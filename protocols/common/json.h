// JSON (RFC 8259) values: a reader for text from the wire (bounded depth and
// size, no exceptions, anything malformed refused whole) and a writer. Used
// where a protocol speaks JSON (the iperf3 control channel). Numbers are
// doubles, as in JavaScript and cJSON; the writer prints an integral value
// below 2^53 without a fraction.
#ifndef RINGSTACK_PROTOCOLS_COMMON_JSON_H_
#define RINGSTACK_PROTOCOLS_COMMON_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringstack::proto::json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;
  static Value Bool(bool b);
  static Value Number(double n);
  static Value String(std::string s);
  static Value Array();
  static Value Object();

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_bool() const { return type_ == Type::kBool; }
  double number() const { return number_; }
  bool boolean() const { return boolean_; }
  const std::string& string() const { return string_; }
  // An array's items, or an object's values (in order, with keys()).
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }

  // An object's member (the first of that name), or null.
  const Value* Find(std::string_view key) const;
  // Typed members: nullopt when absent or of another type.
  std::optional<double> GetNumber(std::string_view key) const;
  std::optional<bool> GetBool(std::string_view key) const;
  std::optional<std::string> GetString(std::string_view key) const;

  // Building: Add to an array, Set on an object (replacing a member).
  Value& Add(Value v);
  Value& Set(std::string key, Value v);

  // Compact text (no blanks), strings escaped per RFC 8259 7.
  std::string Write() const;

 private:
  friend class Reader;
  Type type_ = Type::kNull;
  bool boolean_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<std::string> keys_;
};

// One JSON text and nothing else (blanks aside), nested at most `max_depth`
// arrays/objects deep; nullopt otherwise. \u escapes become UTF-8 (a lone
// surrogate is refused); control characters inside strings are refused.
std::optional<Value> Parse(std::string_view text, int max_depth = 16);

// `s` as a JSON string literal, quotes included.
std::string Quote(std::string_view s);

}  // namespace ringstack::proto::json

#endif  // RINGSTACK_PROTOCOLS_COMMON_JSON_H_
