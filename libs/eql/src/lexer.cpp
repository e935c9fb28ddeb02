#include "lexer.hpp"

#include <charconv>
#include <limits>

namespace chainwatch::eql::detail {

namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class lexer {
public:
  explicit lexer(std::string_view text) : text_(text) {}

  expected<std::vector<token>, error> run() {
    std::vector<token> out;
    for (;;) {
      if (!skip_space_and_comments()) return unexpected{std::move(error_)};
      token t;
      t.where = here();
      if (pos_ >= text_.size()) {
        // "found end of query" points just past the last token, on a line that has text, not
        // at the trailing newline or comment after it (an empty caret line says nothing).
        if (!out.empty()) {
          const token& last = out.back();
          t.where = last.where;
          t.where.offset += static_cast<std::uint32_t>(last.text.size());
          t.where.column += static_cast<std::uint32_t>(last.text.size());
          if (last.text.find('\n') != std::string_view::npos) t.where = here();
        }
        t.kind = tok::end;
        out.push_back(std::move(t));
        return out;
      }
      std::size_t start = pos_;
      if (!lex_one(t, out.empty() ? tok::end : out.back().kind))
        return unexpected{std::move(error_)};
      t.text = text_.substr(start, pos_ - start);
      out.push_back(std::move(t));
    }
  }

private:
  location here() const {
    return {line_, static_cast<std::uint32_t>(pos_ - line_start_ + 1),
            static_cast<std::uint32_t>(pos_)};
  }

  location at(std::size_t p) const {
    // Only used for positions on the current line.
    return {line_, static_cast<std::uint32_t>(p - line_start_ + 1), static_cast<std::uint32_t>(p)};
  }

  bool fail(location where, std::string message) {
    error_ = error{std::move(message), where};
    return false;
  }

  char peek(std::size_t k = 0) const { return pos_ + k < text_.size() ? text_[pos_ + k] : '\0'; }

  // Advances one byte, keeping line bookkeeping right.
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }

  bool skip_space_and_comments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        advance();
      } else if (c == '/' && peek(1) == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n')
          ++pos_;
      } else if (c == '/' && peek(1) == '*') {
        location open = here();
        pos_ += 2;
        for (;;) {
          if (pos_ >= text_.size()) return fail(open, "unterminated comment");
          if (text_[pos_] == '*' && peek(1) == '/') {
            pos_ += 2;
            break;
          }
          advance();
        }
      } else {
        break;
      }
    }
    return true;
  }

  bool lex_one(token& t, tok previous) {
    char c = text_[pos_];
    if (is_ident_start(c)) {
      t.kind = tok::ident;
      ++pos_;
      while (pos_ < text_.size() && is_ident_char(text_[pos_]))
        ++pos_;
      return true;
    }
    if (is_digit(c)) return lex_number(t);
    // `.5` is a number unless it follows something a field path can continue from.
    if (c == '.' && is_digit(peek(1)) && previous != tok::ident && previous != tok::quoted_ident &&
        previous != tok::rbracket && previous != tok::rparen)
      return lex_number(t);
    if (c == '"' && peek(1) == '"' && peek(2) == '"') return lex_triple(t);
    if (c == '"' || c == '\'') return lex_string(t, c, false);
    if (c == '?' && (peek(1) == '"' || peek(1) == '\'')) {
      ++pos_;
      return lex_string(t, text_[pos_], true);
    }
    if (c == '`') return lex_backquoted(t);
    auto one = [&](tok k) {
      t.kind = k;
      ++pos_;
      return true;
    };
    auto two = [&](tok k) {
      t.kind = k;
      pos_ += 2;
      return true;
    };
    switch (c) {
    case '(':
      return one(tok::lparen);
    case ')':
      return one(tok::rparen);
    case '[':
      return one(tok::lbracket);
    case ']':
      return one(tok::rbracket);
    case ',':
      return one(tok::comma);
    case '.':
      return one(tok::dot);
    case '|':
      return one(tok::pipe);
    case ':':
      return one(tok::colon);
    case '~':
      return one(tok::tilde);
    case '?':
      return one(tok::question);
    case '+':
      return one(tok::plus);
    case '-':
      return one(tok::minus);
    case '*':
      return one(tok::star);
    case '/':
      return one(tok::slash);
    case '%':
      return one(tok::percent);
    case '=':
      return peek(1) == '=' ? two(tok::eq) : one(tok::assign);
    case '!':
      return peek(1) == '=' ? two(tok::ne) : one(tok::bang);
    case '<':
      return peek(1) == '=' ? two(tok::le) : one(tok::lt);
    case '>':
      return peek(1) == '=' ? two(tok::ge) : one(tok::gt);
    default:
      break;
    }
    auto uc = static_cast<unsigned char>(c);
    std::string shown = (uc >= 0x20 && uc < 0x7F) ? std::string(1, c) : "\\x" + hex_byte(uc);
    return fail(here(), "unexpected character '" + shown + "'");
  }

  static std::string hex_byte(unsigned char c) {
    const char* digits = "0123456789abcdef";
    return {digits[c >> 4], digits[c & 0xF]};
  }

  bool lex_number(token& t) {
    location where = here();
    std::size_t start = pos_;
    bool real = false;
    while (is_digit(peek()))
      ++pos_;
    if (peek() == '.' && is_digit(peek(1))) {
      real = true;
      ++pos_;
      while (is_digit(peek()))
        ++pos_;
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
      real = true;
      pos_ += 2;
      while (is_digit(peek()))
        ++pos_;
    }
    std::string_view digits = text_.substr(start, pos_ - start);
    if (real) {
      t.kind = tok::real;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.real_value);
      if (ec != std::errc{} || p != digits.data() + digits.size())
        return fail(where, "number '" + std::string(digits) + "' is out of range");
      return true;
    }
    t.kind = tok::integer;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.uint_value);
    if (ec != std::errc{} || p != digits.data() + digits.size())
      return fail(where, "integer '" + std::string(digits) + "' is out of range");
    return true;
  }

  bool lex_string(token& t, char quote, bool raw) {
    // For raw strings pos_ is on the quote and the token starts at the `?` before it.
    location open = raw ? at(pos_ - 1) : here();
    t.kind = tok::string;
    t.raw = raw;
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n' || text_[pos_] == '\r')
        return fail(open, "unterminated string");
      char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        return true;
      }
      if (c != '\\') {
        t.str += c;
        ++pos_;
        continue;
      }
      if (raw) {
        // A raw string keeps backslashes; `\"` does not end it.
        t.str += c;
        ++pos_;
        if (pos_ < text_.size() && (text_[pos_] == quote || text_[pos_] == '\\')) {
          t.str += text_[pos_];
          ++pos_;
        }
        continue;
      }
      if (!lex_escape(t.str)) return false;
    }
  }

  bool lex_escape(std::string& out) {
    location where = here();
    char e = peek(1);
    pos_ += 2;
    switch (e) {
    case 'n':
      out += '\n';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case '0':
      out += '\0';
      return true;
    case '"':
      out += '"';
      return true;
    case '\'':
      out += '\'';
      return true;
    case '\\':
      out += '\\';
      return true;
    case 'u':
      break;
    default: {
      if (e == '\0' && pos_ > text_.size()) {
        pos_ = text_.size();
        return fail(where, "unterminated string");
      }
      auto uc = static_cast<unsigned char>(e);
      std::string shown = (uc >= 0x20 && uc < 0x7F) ? std::string(1, e) : "\\x" + hex_byte(uc);
      return fail(where, "invalid escape '\\" + shown +
                             "' (use \\n, \\t, \\r, \\\", \\', \\\\ or \\u{hex}; "
                             "or a raw string ?\"...\" / \"\"\"...\"\"\")");
    }
    }
    std::uint32_t cp = 0;
    if (peek() == '{') {
      ++pos_;
      int n = 0;
      while (hex_value(peek()) >= 0 && n < 8) {
        cp = cp * 16 + static_cast<std::uint32_t>(hex_value(peek()));
        ++pos_;
        ++n;
      }
      if (n == 0 || peek() != '}')
        return fail(where, "invalid unicode escape (use \\u{XXXX} with 1 to 8 hex digits)");
      ++pos_;
    } else {
      for (int n = 0; n < 4; ++n) {
        if (hex_value(peek()) < 0)
          return fail(where, "invalid unicode escape (use \\uXXXX or \\u{XXXX})");
        cp = cp * 16 + static_cast<std::uint32_t>(hex_value(peek()));
        ++pos_;
      }
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail(where, "invalid unicode code point in escape");
    append_utf8(out, cp);
    return true;
  }

  bool lex_triple(token& t) {
    location open = here();
    t.kind = tok::string;
    t.raw = true;
    pos_ += 3;
    std::size_t start = pos_;
    for (;;) {
      if (pos_ >= text_.size()) return fail(open, "unterminated string (missing closing \"\"\")");
      if (text_[pos_] == '"' && peek(1) == '"' && peek(2) == '"') {
        // Quotes just before the closing three belong to the value: `""""a""""` is `"a"`.
        std::size_t run = 0;
        while (peek(run) == '"')
          ++run;
        std::size_t stop = pos_ + run - 3;
        t.str.assign(text_.substr(start, stop - start));
        pos_ += run;
        return true;
      }
      advance();
    }
  }

  bool lex_backquoted(token& t) {
    location open = here();
    t.kind = tok::quoted_ident;
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n')
        return fail(open, "unterminated quoted name (missing closing '`')");
      if (text_[pos_] == '`') {
        if (peek(1) == '`') {
          t.str += '`';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      t.str += text_[pos_];
      ++pos_;
    }
    if (t.str.empty()) return fail(open, "empty quoted name ``");
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::uint32_t line_ = 1;
  error error_;
};

} // namespace

expected<std::vector<token>, error> tokenize(std::string_view text) {
  if (text.size() > std::numeric_limits<std::uint32_t>::max())
    return unexpected{error{"query too long", {}}};
  return lexer{text}.run();
}

std::string describe(const token& t) {
  if (t.kind == tok::end) return "end of query";
  std::string_view shown = t.text;
  bool cut = false;
  if (shown.size() > 24) {
    shown = shown.substr(0, 24);
    cut = true;
  }
  std::string out = "'";
  for (char c : shown)
    out += (c == '\n' || c == '\r') ? ' ' : c;
  if (cut) out += "...";
  out += "'";
  return out;
}

} // namespace chainwatch::eql::detail
