#include "protocols/common/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ringstack::proto::json {

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.boolean_ = b;
  return v;
}
Value Value::Number(double n) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = n;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}
Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}
Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}
std::optional<double> Value::GetNumber(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->number_;
}
std::optional<bool> Value::GetBool(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->boolean_;
}
std::optional<std::string> Value::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->string_;
}

Value& Value::Add(Value v) {
  items_.push_back(std::move(v));
  return items_.back();
}
Value& Value::Set(std::string key, Value v) {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return items_[i] = std::move(v);
  }
  keys_.push_back(std::move(key));
  items_.push_back(std::move(v));
  return items_.back();
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

namespace {

void WriteNumber(double n, std::string& out) {
  if (!std::isfinite(n)) {
    out += "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[32];
  if (n == std::floor(n) && std::fabs(n) < 9007199254740992.0) {
    std::snprintf(buf, sizeof(buf), "%.0f", n);
  } else {
    std::snprintf(buf, sizeof(buf), "%.17g", n);
  }
  out += buf;
}

void WriteValue(const Value& v, std::string& out) {
  switch (v.type()) {
    case Value::Type::kNull: out += "null"; return;
    case Value::Type::kBool: out += v.boolean() ? "true" : "false"; return;
    case Value::Type::kNumber: WriteNumber(v.number(), out); return;
    case Value::Type::kString: out += Quote(v.string()); return;
    case Value::Type::kArray:
      out += '[';
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i != 0) out += ',';
        WriteValue(v.items()[i], out);
      }
      out += ']';
      return;
    case Value::Type::kObject:
      out += '{';
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i != 0) out += ',';
        out += Quote(v.keys()[i]);
        out += ':';
        WriteValue(v.items()[i], out);
      }
      out += '}';
      return;
  }
}

}  // namespace

std::string Value::Write() const {
  std::string out;
  WriteValue(*this, out);
  return out;
}

class Reader {
 public:
  Reader(std::string_view s, int max_depth) : s_(s), max_depth_(max_depth) {}

  std::optional<Value> Read() {
    Value v;
    if (!ReadValue(v, 0)) return std::nullopt;
    Blank();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  bool More() const { return i_ < s_.size(); }
  char Peek() const { return s_[i_]; }
  void Blank() {
    while (More() && (Peek() == ' ' || Peek() == '\n' || Peek() == '\t' || Peek() == '\r')) ++i_;
  }
  bool Eat(char c) {
    if (!More() || Peek() != c) return false;
    ++i_;
    return true;
  }
  bool Literal(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool Hex4(std::uint32_t& out) {
    if (s_.size() - i_ < 4) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  static void Utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  bool ReadString(std::string& out) {
    if (!Eat('"')) return false;
    while (More() && Peek() != '"') {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c < 0x20) return false;  // RFC 8259 7: control characters must be escaped
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (!More()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a low surrogate first
          if (cp >= 0xd800 && cp <= 0xdbff) {
            std::uint32_t low = 0;
            if (!Literal("\\u") || !Hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          Utf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return Eat('"');
  }
  bool Digits() {
    const std::size_t start = i_;
    while (More() && Peek() >= '0' && Peek() <= '9') ++i_;
    return i_ > start;
  }
  // RFC 8259 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  bool ReadNumber(double& out) {
    const std::size_t start = i_;
    Eat('-');
    if (Eat('0')) {
      if (More() && Peek() >= '0' && Peek() <= '9') return false;  // no leading zeros
    } else if (!Digits()) {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    if (More() && (Peek() == 'e' || Peek() == 'E')) {
      ++i_;
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    if (i_ - start > 64) return false;
    const std::string text(s_.substr(start, i_ - start));
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size() && std::isfinite(out);
  }
  bool ReadValue(Value& v, int depth) {
    Blank();
    if (!More()) return false;
    const char c = Peek();
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return false;
      const bool object = c == '{';
      v.type_ = object ? Value::Type::kObject : Value::Type::kArray;
      ++i_;
      Blank();
      if (Eat(object ? '}' : ']')) return true;
      for (;;) {
        Blank();
        if (object) {
          std::string key;
          if (!ReadString(key)) return false;
          Blank();
          if (!Eat(':')) return false;
          v.keys_.push_back(std::move(key));
        }
        Value item;
        if (!ReadValue(item, depth + 1)) return false;
        v.items_.push_back(std::move(item));
        Blank();
        if (Eat(',')) continue;
        return Eat(object ? '}' : ']');
      }
    }
    if (c == '"') {
      v.type_ = Value::Type::kString;
      return ReadString(v.string_);
    }
    if (Literal("null")) return true;
    if (Literal("true") || Literal("false")) {
      v.type_ = Value::Type::kBool;
      v.boolean_ = s_[i_ - 1] == 'e' && s_[i_ - 2] == 'u';
      return true;
    }
    v.type_ = Value::Type::kNumber;
    return ReadNumber(v.number_);
  }

  std::string_view s_;
  int max_depth_;
  std::size_t i_ = 0;
};

std::optional<Value> Parse(std::string_view text, int max_depth) { return Reader(text, max_depth).Read(); }

}  // namespace ringstack::proto::json
