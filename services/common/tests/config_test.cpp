#include "chainwatch/service/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

using namespace chainwatch::service;

namespace {

struct demo_config {
  common_config common;
  std::int64_t partitions = 16;
  std::int64_t linger_ns = 5'000'000;
  bool keep_raw = false;
  double ratio = 0.5;
};

void bind(config_binder& b, demo_config& c) {
  chainwatch::service::bind(b, c.common);
  b.bind("demo.partitions", c.partitions, "number of partitions");
  b.bind_duration("demo.linger", c.linger_ns, "batch linger");
  b.bind("demo.keep_raw", c.keep_raw, "keep raw bytes");
  b.bind("demo.ratio", c.ratio, "a ratio");
}

std::string write_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

} // namespace

TEST(service_config, defaults_file_env_flags_in_order) {
  auto path = write_file("cw_demo.toml", R"(
[common]
nats_url = "nats://file:4222"
log_level = "debug"
metrics_address = "127.0.0.1:1"

[demo]
partitions = 32
linger = "20ms"
keep_raw = true
)");
  ::setenv("CHAINWATCH_DEMO_COMMON_LOG_LEVEL", "warn", 1);
  ::setenv("CHAINWATCH_DEMO_DEMO_PARTITIONS", "64", 1);
  demo_config c;
  config_binder b("demo");
  bind(b, c);
  const char* argv[] = {"demo",       "--config",
                        path.c_str(), "--demo.partitions",
                        "128",        "--common.metrics_address=0.0.0.0:9999",
                        "positional"};
  auto r = b.load(7, argv);
  ::unsetenv("CHAINWATCH_DEMO_COMMON_LOG_LEVEL");
  ::unsetenv("CHAINWATCH_DEMO_DEMO_PARTITIONS");
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(*r, std::vector<std::string>{"positional"});
  EXPECT_EQ(c.common.nats_url, "nats://file:4222");    // file
  EXPECT_EQ(c.common.log_level, "warn");               // env over file
  EXPECT_EQ(c.partitions, 128);                        // flag over env over file
  EXPECT_EQ(c.common.metrics_address, "0.0.0.0:9999"); // flag over file
  EXPECT_EQ(c.linger_ns, 20'000'000);                  // duration string
  EXPECT_TRUE(c.keep_raw);
  EXPECT_DOUBLE_EQ(c.ratio, 0.5);                           // default
  EXPECT_EQ(c.common.nats_reconnect_max_ns, 2'000'000'000); // default
}

TEST(service_config, errors_name_the_key) {
  demo_config c;
  config_binder b("demo");
  bind(b, c);
  auto typo = write_file("cw_typo.toml", "[demo]\npartitons = 3\n");
  auto r = b.load(typo, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("unknown key 'demo.partitons'"), std::string::npos) << r.error();

  auto wrong = write_file("cw_wrong.toml", "[demo]\npartitions = \"many\"\n");
  r = b.load(wrong, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("demo.partitions: expected an integer"), std::string::npos);

  auto broken = write_file("cw_broken.toml", "[demo\n");
  r = b.load(broken, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("cw_broken.toml:1:"), std::string::npos) << r.error();

  r = b.load("", {"--demo.linger", "soon"});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("--demo.linger"), std::string::npos);
  r = b.load("", {"--nope", "1"});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("unknown flag --nope"), std::string::npos);
  r = b.load("", {"--demo.keep_raw"});
  ASSERT_FALSE(r.has_value());
}

TEST(service_config, example_common_config_loads) {
  common_config c;
  config_binder b("example");
  bind(b, c);
  auto r = b.load(std::string(CHAINWATCH_SOURCE_DIR) + "/config/common.example.toml", {});
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(c.log_level, "info");
}

TEST(service_config, describe_lists_keys_env_and_defaults) {
  common_config c;
  config_binder b("alerter");
  bind(b, c);
  auto text = b.describe();
  EXPECT_NE(text.find("--common.nats_url (env CHAINWATCH_ALERTER_COMMON_NATS_URL, default "
                      "'nats://127.0.0.1:4222')"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("default 2s"), std::string::npos) << text;
}
