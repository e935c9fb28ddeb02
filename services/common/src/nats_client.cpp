#include "chainwatch/service/nats_client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nats/nats.h>
#include <thread>

namespace chainwatch::service {

namespace {

nats_error make_error(natsStatus s, std::string_view context,
                      jsErrCode js = static_cast<jsErrCode>(0)) {
  nats_error err;
  err.status = static_cast<int>(s);
  err.js_code = static_cast<int>(js);
  err.text = std::string(context) + ": " + natsStatus_GetText(s);
  // nats.c keeps a thread-local description of the last error (e.g. the server's text).
  natsStatus last = NATS_OK;
  if (const char* detail = nats_GetLastError(&last); detail && *detail && last == s) {
    err.text += " (";
    err.text += detail;
    err.text += ")";
  }
  return err;
}

nats_status check(natsStatus s, std::string_view context,
                  jsErrCode js = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return nats_ok();
  return unexpected{make_error(s, context, js)};
}

// Owns a natsOptions for the duration of connect.
struct options_guard {
  natsOptions* opts = nullptr;
  ~options_guard() { natsOptions_Destroy(opts); }
};

} // namespace

const char* to_string(connection_event ev) noexcept {
  switch (ev) {
  case connection_event::disconnected:
    return "disconnected";
  case connection_event::reconnected:
    return "reconnected";
  case connection_event::closed:
    return "closed";
  case connection_event::error:
    return "error";
  }
  return "unknown";
}

std::string to_string(const nats_error& err) {
  return err.text + " (status " + std::to_string(err.status) + ", js code " +
         std::to_string(err.js_code) + ")";
}

// --- message ------------------------------------------------------------------------------------

message::message(message&& other) noexcept : msg_(std::exchange(other.msg_, nullptr)) {}

message& message::operator=(message&& other) noexcept {
  if (this != &other) {
    natsMsg_Destroy(msg_);
    msg_ = std::exchange(other.msg_, nullptr);
  }
  return *this;
}

message::~message() {
  natsMsg_Destroy(msg_);
}

std::string_view message::subject() const noexcept {
  const char* s = natsMsg_GetSubject(msg_);
  return s ? std::string_view(s) : std::string_view();
}

std::string_view message::data() const noexcept {
  const char* d = natsMsg_GetData(msg_);
  return d ? std::string_view(d, static_cast<std::size_t>(natsMsg_GetDataLength(msg_)))
           : std::string_view();
}

std::optional<std::string_view> message::header(const char* key) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg_, key, &value) != NATS_OK || value == nullptr) return std::nullopt;
  return std::string_view(value);
}

nats_result<message::metadata> message::meta() const {
  jsMsgMetaData* m = nullptr;
  if (auto s = natsMsg_GetMetaData(&m, msg_); s != NATS_OK)
    return unexpected{make_error(s, "message metadata")};
  metadata out;
  out.stream_sequence = m->Sequence.Stream;
  out.consumer_sequence = m->Sequence.Consumer;
  out.delivered = m->NumDelivered;
  out.pending = m->NumPending;
  out.timestamp_ns = m->Timestamp;
  jsMsgMetaData_Destroy(m);
  return out;
}

nats_status message::ack() {
  return check(natsMsg_Ack(msg_, nullptr), "ack");
}

nats_status message::ack_sync() {
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s = natsMsg_AckSync(msg_, nullptr, &js);
  return check(s, "ack_sync", js);
}

nats_status message::nak(std::int64_t delay_ms) {
  if (delay_ms > 0) return check(natsMsg_NakWithDelay(msg_, delay_ms, nullptr), "nak");
  return check(natsMsg_Nak(msg_, nullptr), "nak");
}

nats_status message::term() {
  return check(natsMsg_Term(msg_, nullptr), "term");
}

// --- subscription -------------------------------------------------------------------------------

void subscription::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* self = static_cast<subscription*>(closure);
  self->handler_(message(msg));
}

void subscription::on_complete(void* closure) {
  auto* self = static_cast<subscription*>(closure);
  std::lock_guard lock(self->mutex_);
  self->done_ = true;
  self->done_cv_.notify_all();
}

subscription::~subscription() {
  if (sub_ == nullptr) return;
  // Closing the subscription (or its connection) fires on_complete once the handler has
  // returned for the last time; only then may the handler be destroyed.
  natsSubscription_Unsubscribe(sub_);
  {
    std::unique_lock lock(mutex_);
    done_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return done_; });
  }
  natsSubscription_Destroy(sub_);
}

nats_status subscription::drain(std::int64_t timeout_ms) {
  if (auto s = natsSubscription_Drain(sub_); s != NATS_OK) return check(s, "subscription drain");
  return check(natsSubscription_WaitForDrainCompletion(sub_, timeout_ms), "subscription drain");
}

int subscription::pending() const {
  int msgs = 0;
  int bytes = 0;
  natsSubscription_GetPending(sub_, &msgs, &bytes);
  return msgs;
}

std::int64_t subscription::dropped() const {
  int64_t msgs = 0;
  natsSubscription_GetDropped(sub_, &msgs);
  return msgs;
}

// --- pull_consumer ------------------------------------------------------------------------------

pull_consumer::~pull_consumer() {
  // Bound to an existing consumer (created by nats_client::pull), so this never deletes the
  // durable, unlike a subscription whose js_PullSubscribe created it.
  natsSubscription_Destroy(sub_);
}

// libnats 3.4.1 (Debian 12) overruns its message array when a fetch begins with user messages
// left in the subscription by an earlier fetch that timed out before its reply was all in: it
// asks the server for the rest with the batch reduced by what it holds, then collects until the
// count equals that reduced batch, which it never does once it holds more than half. Newer
// releases tag each fetch's replies and capture the batch; this one corrupted the normalizer's
// heap under load (its 5 ms fetches leave replies behind). A fetch of one message is immune (it
// either finds its message or asks for exactly one), so leftovers are taken one at a time, and
// a batched fetch runs only on an empty subscription. What this cannot close is a leftover
// landing between the check and the fetch (a window of two calls; more than half a batch would
// have to land in it): the count check turns that into a clean abort, not a corrupt heap.
nats_result<std::vector<message>> pull_consumer::fetch(int batch, std::int64_t timeout_ms) {
  std::vector<message> out;
  auto take = [&](int n, std::int64_t wait_ms) -> nats_status {
    natsMsgList list{};
    jsErrCode js = static_cast<jsErrCode>(0);
    auto s = natsSubscription_Fetch(&list, sub_, n, wait_ms, &js);
    if (s == NATS_TIMEOUT) return std::monostate{};
    if (s != NATS_OK) {
      natsMsgList_Destroy(&list);
      return unexpected{make_error(s, "fetch " + spec_.stream + "/" + spec_.durable, js)};
    }
    if (list.Count > n) { // libnats wrote past its array: the heap is not to be trusted
      std::fprintf(stderr, "libnats fetch returned %d messages for a batch of %d: aborting\n",
                   list.Count, n);
      std::abort();
    }
    for (int i = 0; i < list.Count; ++i)
      out.emplace_back(std::exchange(list.Msgs[i], nullptr));
    natsMsgList_Destroy(&list);
    return std::monostate{};
  };
  out.reserve(static_cast<std::size_t>(std::max(batch, 0)));
  int pending = 0, bytes = 0;
  // Bounded: a leftover status (the end of an old request) makes a fetch of one ask the server
  // for a message (waiting 1 ms), whose late reply may be a leftover in turn.
  for (int i = 0; i < batch + 2 && static_cast<int>(out.size()) < batch &&
                  natsSubscription_GetPending(sub_, &pending, &bytes) == NATS_OK && pending > 0;
       ++i) {
    if (auto r = take(1, 1); !r) return unexpected{r.error()};
  }
  if (!out.empty()) return out;
  if (auto r = take(batch, timeout_ms); !r) return unexpected{r.error()};
  return out;
}

nats_status pull_consumer::drain(std::int64_t timeout_ms) {
  if (auto s = natsSubscription_Drain(sub_); s != NATS_OK) return check(s, "pull consumer drain");
  return check(natsSubscription_WaitForDrainCompletion(sub_, timeout_ms), "pull consumer drain");
}

// --- kv_bucket ----------------------------------------------------------------------------------

kv_bucket::~kv_bucket() {
  kvStore_Destroy(kv_);
  jsCtx_Destroy(js_);
}

nats_result<std::uint64_t> kv_bucket::put(const std::string& key, std::string_view value) {
  std::uint64_t rev = 0;
  auto s = kvStore_Put(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) return unexpected{make_error(s, "kv put " + key)};
  return rev;
}

nats_result<std::uint64_t> kv_bucket::create(const std::string& key, std::string_view value) {
  std::uint64_t rev = 0;
  auto s = kvStore_Create(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) return unexpected{make_error(s, "kv create " + key)};
  return rev;
}

nats_result<std::uint64_t> kv_bucket::update(const std::string& key, std::string_view value,
                                             std::uint64_t last) {
  std::uint64_t rev = 0;
  auto s =
      kvStore_Update(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()), last);
  if (s != NATS_OK) return unexpected{make_error(s, "kv update " + key)};
  return rev;
}

nats_result<std::optional<kv_bucket::entry>> kv_bucket::get(const std::string& key) {
  kvEntry* e = nullptr;
  natsStatus s = NATS_OK;
  // A get is a request that can go unanswered while the bucket is new (a mesh starting: another
  // process created it a moment ago; seen once as the alerter's start timing out). It reads
  // only, so it is asked again; a get that fails three times is an error.
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = kvStore_Get(&e, kv_, key.c_str());
    if (s != NATS_TIMEOUT && s != NATS_NO_RESPONDERS) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // backoff, not a sync
  }
  if (s == NATS_NOT_FOUND) return std::optional<entry>{};
  if (s != NATS_OK) return unexpected{make_error(s, "kv get " + key)};
  entry out;
  const auto* v = static_cast<const char*>(kvEntry_Value(e));
  out.value.assign(v ? v : "", static_cast<std::size_t>(kvEntry_ValueLen(e)));
  out.revision = kvEntry_Revision(e);
  kvEntry_Destroy(e);
  return std::optional<entry>{std::move(out)};
}

nats_status kv_bucket::erase(const std::string& key) {
  auto s = kvStore_Delete(kv_, key.c_str());
  if (s != NATS_OK) return unexpected{make_error(s, "kv delete " + key)};
  return nats_ok();
}

nats_result<std::vector<std::string>> kv_bucket::keys() {
  kvKeysList list{};
  auto s = kvStore_Keys(&list, kv_, nullptr);
  std::vector<std::string> out;
  if (s == NATS_NOT_FOUND) return out;
  if (s != NATS_OK) return unexpected{make_error(s, "kv keys")};
  for (int i = 0; i < list.Count; ++i)
    out.emplace_back(list.Keys[i]);
  kvKeysList_Destroy(&list);
  return out;
}

// --- nats_client --------------------------------------------------------------------------------

void nats_client::emit(connection_event ev, std::string_view detail) {
  if (options_.on_event) options_.on_event(ev, detail);
}

void nats_client::on_disconnected(natsConnection*, void* closure) {
  auto* self = static_cast<nats_client*>(closure);
  self->disconnects_.fetch_add(1);
  self->emit(connection_event::disconnected, "");
}

void nats_client::on_reconnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<nats_client*>(closure);
  self->reconnects_.fetch_add(1);
  char url[256] = {0};
  natsConnection_GetConnectedUrl(nc, url, sizeof(url));
  self->emit(connection_event::reconnected, url);
}

void nats_client::on_closed(natsConnection*, void* closure) {
  auto* self = static_cast<nats_client*>(closure);
  self->emit(connection_event::closed, "");
  std::lock_guard lock(self->closed_mutex_);
  ++self->closed_;
  self->closed_cv_.notify_all();
}

std::int64_t nats_client::reconnect_delay(natsConnection*, int attempts, void* closure) {
  const auto* self = static_cast<const nats_client*>(closure);
  // Exponential backoff from min to max; nats.c passes the attempt count for the server list.
  std::int64_t delay = self->options_.reconnect_wait_min_ms;
  for (int i = 1; i < attempts && delay < self->options_.reconnect_wait_max_ms; ++i)
    delay *= 2;
  return std::min(delay, self->options_.reconnect_wait_max_ms);
}

namespace {

void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
  auto* handler = static_cast<std::function<void(connection_event, std::string_view)>*>(closure);
  if (*handler) (*handler)(connection_event::error, natsStatus_GetText(err));
}

} // namespace

nats_status nats_client::open(natsConnection** nc, const char* suffix) {
  options_guard g;
  if (auto s = natsOptions_Create(&g.opts); s != NATS_OK) return check(s, "natsOptions_Create");
  std::string name = options_.name + suffix;
  natsStatus s = natsOptions_SetURL(g.opts, options_.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(g.opts, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(g.opts, -1); // reconnect forever
  if (s == NATS_OK)
    s = natsOptions_SetCustomReconnectDelay(g.opts, &nats_client::reconnect_delay, this);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(g.opts, options_.reconnect_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetTimeout(g.opts, options_.connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(g.opts, options_.ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(g.opts, options_.max_pings_out);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(g.opts, &nats_client::on_disconnected, this);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(g.opts, &nats_client::on_reconnected, this);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(g.opts, &nats_client::on_closed, this);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(g.opts, &on_async_error, &options_.on_event);
  if (s == NATS_OK && options_.retry_on_failed_connect)
    s = natsOptions_SetRetryOnFailedConnect(g.opts, true, nullptr, nullptr);
  if (s != NATS_OK) return check(s, "nats options");
  s = natsConnection_Connect(nc, g.opts);
  if (s == NATS_NOT_YET_CONNECTED) return nats_ok();
  return check(s, "connect to " + options_.url);
}

void nats_client::on_publish_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                                 void* closure) {
  auto* self = static_cast<nats_client*>(closure);
  if (pae != nullptr) {
    self->js_counters_.failures.fetch_add(1);
    if (self->options_.on_publish_error) {
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK || id == nullptr) id = "";
      const char* subject = natsMsg_GetSubject(msg);
      self->options_.on_publish_error(subject ? subject : "", id,
                                      pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
    }
  } else if (pa != nullptr && pa->Duplicate)
    self->js_counters_.duplicates.fetch_add(1);
  natsMsg_Destroy(msg);
}

nats_result<std::unique_ptr<nats_client>> nats_client::connect(nats_options options) {
  std::unique_ptr<nats_client> client(new nats_client(std::move(options)));
  if (auto r = client->open(&client->pub_, "-pub"); !r) return unexpected{r.error()};
  if (auto r = client->open(&client->sub_, "-sub"); !r) return unexpected{r.error()};
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = client->options_.js_timeout_ms;
  jo.PublishAsync.MaxPending = client->options_.js_max_pending;
  jo.PublishAsync.AckHandler = &nats_client::on_publish_ack;
  jo.PublishAsync.AckHandlerClosure = client.get();
  // js_PublishAsync returns NATS_TIMEOUT after this wait when MaxPending are in flight; our
  // js_publish_async loops on it, so keep it short to react to shutdown promptly.
  jo.PublishAsync.StallWait = 100;
  if (auto s = natsConnection_JetStream(&client->pub_js_, client->pub_, &jo); s != NATS_OK)
    return unexpected{make_error(s, "jetstream context")};
  jsOptions_Init(&jo);
  jo.Wait = client->options_.js_timeout_ms;
  if (auto s = natsConnection_JetStream(&client->sub_js_, client->sub_, &jo); s != NATS_OK)
    return unexpected{make_error(s, "jetstream context")};
  return client;
}

nats_client::~nats_client() {
  if (pub_js_ != nullptr) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 2000;
    js_PublishAsyncComplete(pub_js_, &po);
  }
  jsCtx_Destroy(pub_js_);
  jsCtx_Destroy(sub_js_);
  int opened = 0;
  for (auto* nc : {pub_, sub_}) {
    if (nc != nullptr) {
      ++opened;
      natsConnection_Close(nc);
    }
  }
  // The closed callback is the last one nats.c makes with `this`; wait for it before freeing.
  {
    std::unique_lock lock(closed_mutex_);
    closed_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return closed_ >= opened; });
  }
  natsConnection_Destroy(pub_);
  natsConnection_Destroy(sub_);
}

bool nats_client::connected() const noexcept {
  return natsConnection_Status(pub_) == NATS_CONN_STATUS_CONNECTED &&
         natsConnection_Status(sub_) == NATS_CONN_STATUS_CONNECTED;
}

nats_status nats_client::publish(const std::string& subject, std::string_view data) {
  return check(
      natsConnection_Publish(pub_, subject.c_str(), data.data(), static_cast<int>(data.size())),
      "publish " + subject);
}

nats_status nats_client::flush(std::int64_t timeout_ms) {
  return check(natsConnection_FlushTimeout(pub_, timeout_ms), "flush");
}

nats_result<std::unique_ptr<subscription>> nats_client::subscribe(const std::string& subject,
                                                                  subscription::handler handler,
                                                                  const std::string& queue) {
  std::unique_ptr<subscription> sub(new subscription(std::move(handler)));
  natsStatus s;
  if (queue.empty())
    s = natsConnection_Subscribe(&sub->sub_, sub_, subject.c_str(), &subscription::on_message,
                                 sub.get());
  else
    s = natsConnection_QueueSubscribe(&sub->sub_, sub_, subject.c_str(), queue.c_str(),
                                      &subscription::on_message, sub.get());
  if (s != NATS_OK) {
    sub->sub_ = nullptr;
    return unexpected{make_error(s, "subscribe " + subject)};
  }
  natsSubscription_SetOnCompleteCB(sub->sub_, &subscription::on_complete, sub.get());
  // High-volume subjects: let the client buffer more before declaring a slow consumer.
  natsSubscription_SetPendingLimits(sub->sub_, 1'000'000, 1024 * 1024 * 1024);
  return sub;
}

nats_status nats_client::ensure_stream(const stream_spec& spec) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  std::vector<const char*> subjects;
  for (const auto& s : spec.subjects)
    subjects.push_back(s.c_str());
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = spec.storage == storage_kind::file ? js_FileStorage : js_MemoryStorage;
  cfg.MaxAge = spec.max_age_ns;
  cfg.Duplicates = spec.duplicate_window_ns;
  cfg.MaxBytes = spec.max_bytes;
  cfg.Retention = spec.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;

  // Services start together and each ensures the mesh's streams: when another one creates the
  // stream between our lookup and our add, the add fails with "name in use" or (nats-server 2.9
  // checks this first) "subjects overlap"; the second round finds the stream and updates it.
  for (int round = 0;; ++round) {
    jsStreamInfo* si = nullptr;
    jsErrCode js = static_cast<jsErrCode>(0);
    auto s = js_GetStreamInfo(&si, pub_js_, spec.name.c_str(), nullptr, &js);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      si = nullptr;
      s = js_UpdateStream(&si, pub_js_, &cfg, nullptr, &js);
      jsStreamInfo_Destroy(si);
      return check(s, "update stream " + spec.name, js);
    }
    if (s != NATS_NOT_FOUND && js != JSStreamNotFoundErr)
      return check(s, "stream info " + spec.name, js);
    js = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, pub_js_, &cfg, nullptr, &js);
    jsStreamInfo_Destroy(si);
    const bool raced = js == JSStreamNameExistErr || js == JSStreamSubjectOverlapErr;
    if (s == NATS_OK || !raced || round > 0) return check(s, "add stream " + spec.name, js);
  }
}

nats_status nats_client::ensure_stream(const std::string& name,
                                       const std::vector<std::string>& subjects,
                                       storage_kind storage, std::int64_t max_age_ns,
                                       std::int64_t duplicate_window_ns) {
  stream_spec spec;
  spec.name = name;
  spec.subjects = subjects;
  spec.storage = storage;
  spec.max_age_ns = max_age_ns;
  spec.duplicate_window_ns = duplicate_window_ns;
  return ensure_stream(spec);
}

nats_status nats_client::delete_stream(const std::string& name) {
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s = js_DeleteStream(pub_js_, name.c_str(), nullptr, &js);
  return check(s, "delete stream " + name, js);
}

nats_result<std::uint64_t> nats_client::stream_messages(const std::string& name) {
  jsStreamInfo* si = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s = js_GetStreamInfo(&si, pub_js_, name.c_str(), nullptr, &js);
  if (s != NATS_OK) return unexpected{make_error(s, "stream info " + name, js)};
  std::uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

nats_status nats_client::js_publish_async(const std::string& subject, std::string_view data,
                                          const std::string& msg_id, std::int64_t max_block_ms) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  po.MaxWait = options_.js_ack_timeout_ms;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_block_ms);
  for (;;) {
    auto s =
        js_PublishAsync(pub_js_, subject.c_str(), data.data(), static_cast<int>(data.size()), &po);
    // NATS_TIMEOUT here means "MaxPending in flight for StallWait": backpressure, retry.
    if (s != NATS_TIMEOUT) return check(s, "publish async " + subject);
    if (max_block_ms >= 0 && std::chrono::steady_clock::now() >= deadline)
      return check(s, "publish async " + subject + " (backpressure)");
  }
}

nats_status nats_client::js_publish_complete(std::int64_t timeout_ms) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout_ms;
  return check(js_PublishAsyncComplete(pub_js_, &po), "publish async complete");
}

nats_result<std::uint64_t> nats_client::js_publish(const std::string& subject,
                                                   std::string_view data,
                                                   const std::string& msg_id) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  jsPubAck* pa = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s = js_Publish(&pa, pub_js_, subject.c_str(), data.data(), static_cast<int>(data.size()),
                      &po, &js);
  if (s != NATS_OK) return unexpected{make_error(s, "publish " + subject, js)};
  auto seq = pa->Sequence;
  jsPubAck_Destroy(pa);
  return seq;
}

nats_result<std::unique_ptr<pull_consumer>> nats_client::pull(const consumer_spec& spec) {
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = spec.durable.c_str();
  cc.AckPolicy = spec.ack_all ? js_AckAll : js_AckExplicit;
  cc.AckWait = spec.ack_wait_ns;
  cc.MaxAckPending = spec.max_ack_pending;
  cc.MaxDeliver = spec.max_deliver;
  if (!spec.filter_subject.empty()) cc.FilterSubject = spec.filter_subject.c_str();
  if (spec.start_sequence > 0) {
    cc.DeliverPolicy = js_DeliverByStartSequence;
    cc.OptStartSeq = spec.start_sequence;
  }

  // Create the consumer ourselves: a consumer that js_PullSubscribe creates is deleted by
  // nats.c when that subscription is unsubscribed or drained, durable or not.
  jsConsumerInfo* ci = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s =
      js_GetConsumerInfo(&ci, sub_js_, spec.stream.c_str(), spec.durable.c_str(), nullptr, &js);
  jsDeliverPolicy ci_policy = js_DeliverAll;
  std::uint64_t ci_start = 0, ack_floor = 0;
  bool other_ack_policy = false;
  if (s == NATS_OK && ci != nullptr && ci->Config != nullptr) {
    ci_policy = ci->Config->DeliverPolicy;
    ci_start = ci->Config->OptStartSeq;
    ack_floor = ci->AckFloor.Stream;
    other_ack_policy = ci->Config->AckPolicy != cc.AckPolicy;
  }
  jsConsumerInfo_Destroy(ci);
  ci = nullptr;
  if (s == NATS_OK && (spec.resume_at_ack_floor || other_ack_policy)) {
    // Neither a consumer's start nor its ack policy can change: delete it and create it again
    // past the ack floor (at its old start when nothing was acked).
    if (auto r = delete_consumer(spec.stream, spec.durable); !r) return unexpected{r.error()};
    if (ack_floor > 0) {
      cc.DeliverPolicy = js_DeliverByStartSequence;
      cc.OptStartSeq = std::max<std::uint64_t>(ack_floor + 1, ci_start);
    } else {
      cc.DeliverPolicy = ci_policy;
      cc.OptStartSeq = ci_start;
    }
    js = static_cast<jsErrCode>(0);
    s = js_AddConsumer(&ci, sub_js_, spec.stream.c_str(), &cc, nullptr, &js);
  } else if (s == NATS_OK) {
    // The start position of an existing durable cannot change: keep it.
    cc.DeliverPolicy = ci_policy;
    cc.OptStartSeq = ci_start;
    s = js_UpdateConsumer(&ci, sub_js_, spec.stream.c_str(), &cc, nullptr, &js);
  } else if (s == NATS_NOT_FOUND || js == JSConsumerNotFoundErr) {
    js = static_cast<jsErrCode>(0);
    s = js_AddConsumer(&ci, sub_js_, spec.stream.c_str(), &cc, nullptr, &js);
  }
  jsConsumerInfo_Destroy(ci);
  if (s != NATS_OK)
    return unexpected{make_error(s, "consumer " + spec.stream + "/" + spec.durable, js)};

  std::unique_ptr<pull_consumer> pc(new pull_consumer(spec));
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec.stream.c_str();
  so.Consumer = spec.durable.c_str();
  js = static_cast<jsErrCode>(0);
  s = js_PullSubscribe(&pc->sub_, sub_js_, spec.filter_subject.c_str(), spec.durable.c_str(),
                       nullptr, &so, &js);
  if (s != NATS_OK) {
    pc->sub_ = nullptr;
    return unexpected{make_error(s, "pull subscribe " + spec.stream + "/" + spec.durable, js)};
  }
  return pc;
}

nats_status nats_client::delete_consumer(const std::string& stream, const std::string& durable) {
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s = js_DeleteConsumer(sub_js_, stream.c_str(), durable.c_str(), nullptr, &js);
  return check(s, "delete consumer " + stream + "/" + durable, js);
}

nats_result<std::int64_t> nats_client::ack_pending(const std::string& stream,
                                                   const std::string& durable) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  auto s = js_GetConsumerInfo(&ci, sub_js_, stream.c_str(), durable.c_str(), nullptr, &js);
  if (s != NATS_OK) return unexpected{make_error(s, "consumer " + stream + "/" + durable, js)};
  std::int64_t n = ci->NumAckPending;
  jsConsumerInfo_Destroy(ci);
  return n;
}

nats_result<std::unique_ptr<kv_bucket>> nats_client::key_value(const std::string& bucket,
                                                               int history, std::int64_t ttl_ns,
                                                               bool create,
                                                               std::int64_t timeout_ms) {
  std::unique_ptr<kv_bucket> kv(new kv_bucket());
  jsCtx* js = pub_js_;
  if (timeout_ms > 0) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = timeout_ms;
    if (auto s = natsConnection_JetStream(&kv->js_, pub_, &jo); s != NATS_OK)
      return unexpected{make_error(s, "jetstream context")};
    js = kv->js_;
  }
  auto s = js_KeyValue(&kv->kv_, js, bucket.c_str());
  if (s == NATS_NOT_FOUND && create) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = static_cast<std::uint8_t>(std::clamp(history, 1, 64));
    cfg.StorageType = js_FileStorage;
    cfg.TTL = ttl_ns;
    s = js_CreateKeyValue(&kv->kv_, js, &cfg);
  }
  if (s != NATS_OK) {
    kv->kv_ = nullptr;
    return unexpected{make_error(s, "key value " + bucket)};
  }
  return kv;
}

} // namespace chainwatch::service
