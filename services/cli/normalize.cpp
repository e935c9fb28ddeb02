#include "commands.hpp"
#include "input.hpp"
#include "normalize_input.hpp"
#include "records.hpp"

#include <chainwatch/base/time.hpp>
#include <chainwatch/normalize/normalizer.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace chainwatch::cli {

std::vector<std::string> default_source_dirs() {
  if (const char* env = std::getenv("CHAINWATCH_SOURCES"); env && *env) return {env};
  std::error_code ec;
  if (fs::is_directory("config/sources", ec)) return {"config/sources"};
  return {};
}

expected<normalize::normalizer, std::string> load_normalizer(const std::vector<std::string>& dirs) {
  std::vector<std::string> names, texts;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
    if (ec) return unexpected{dir + ": " + ec.message()};
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string text;
      if (auto e = read_file(f.string(), text); !e.empty()) return unexpected{e};
      names.push_back(f.stem().string());
      texts.push_back(std::move(text));
    }
  }
  std::vector<normalize::table_text> tables;
  for (std::size_t i = 0; i < names.size(); ++i)
    tables.push_back({names[i], texts[i]});
  auto n = normalize::normalizer::create(tables);
  if (!n) return unexpected{n.error().table + ": " + n.error().reason};
  return std::move(*n);
}

expected<std::int64_t, std::string> reference_time(std::string_view command,
                                                   const std::string& text) {
  if (text.empty()) return std::int64_t{0};
  auto t = time::parse_iso8601(text);
  if (!t)
    return unexpected{"chainwatch " + std::string(command) +
                      ": --reference-time wants an ISO 8601 time, not '" + text + "'"};
  return *t;
}

int run_sources() {
  for (const auto& s : normalize::sources())
    std::printf("%-18s %s%s\n", std::string(s.name).c_str(), std::string(s.description).c_str(),
                s.implemented ? "" : " (not implemented yet)");
  return 0;
}

int run_normalize(const normalize_options& o) {
  auto source = normalize::parse_source_type(o.source);
  if (!source) {
    std::cerr << "chainwatch normalize: unknown --source '" << o.source
              << "' (see `chainwatch sources`)\n";
    return 2;
  }
  auto n = load_normalizer(o.source_dirs.empty() ? default_source_dirs() : o.source_dirs);
  if (!n) {
    std::cerr << "chainwatch normalize: " << n.error() << "\n";
    return 2;
  }
  auto reference_ns = reference_time("normalize", o.reference_time);
  if (!reference_ns) {
    std::cerr << reference_ns.error() << "\n";
    return 2;
  }
  const std::vector<std::string> files = o.files.empty() ? std::vector<std::string>{"-"} : o.files;
  std::string out;
  std::uint64_t ok = 0, failed = 0;
  int status = 0;
  for (const auto& f : files) {
    auto reader = record_reader::open(f, *n, *source, *reference_ns);
    if (!reader) {
      std::cerr << "chainwatch normalize: " << reader.error() << "\n";
      status = 1;
      continue;
    }
    while (auto r = reader->next()) {
      out.clear();
      if (r->ev) {
        ++ok;
        event::append_json(out, r->ev->root());
      } else {
        ++failed;
        out += "{\"error\":{\"source\":";
        event::append_json_string(out, o.source);
        out += ",\"file\":";
        event::append_json_string(out, f);
        out += ",\"line\":" + std::to_string(r->line) + ",\"reason\":";
        event::append_json_string(out, r->error);
        out += "}}";
      }
      out += '\n';
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (!reader->error().empty()) {
      std::cerr << "chainwatch normalize: " << reader->error() << "\n";
      status = 1;
    }
  }
  std::fflush(stdout);
  std::fprintf(stderr, "normalize: %llu events, %llu errors\n", static_cast<unsigned long long>(ok),
               static_cast<unsigned long long>(failed));
  return status;
}

} // namespace chainwatch::cli
