#include "common/mail/serialize.hpp"

#include <nlohmann/json.hpp>

namespace roost::mail {
namespace {

using json = nlohmann::json;

// Positional layout (version 1):
//   blob     = [version, part, envelope, headers, limits_hit]
//   part     = [header_offset, header_size, body_offset, body_size, body_lines, type, subtype,
//               params, id, description, encoding, md5, disposition, disposition_params,
//               language, location, children, envelope|null]
//   params   = [name, value, name, value, ...]
//   envelope = [date, subject, in_reply_to, message_id, from, sender|null, reply_to|null, to, cc, bcc]
//              (null sender / reply_to: equal to from — the common case, stored once)
//   addrs    = [name, route, mailbox, host, flags, ...]  flags: 1 group_start, 2 group_end
//   headers  = [name, value, offset, size, ...]
constexpr size_t kPartFields = 18;
constexpr size_t kMaxDepth = 4096;  // far above any parser output; guards a corrupt blob

struct BadBlob {};

json params_to_json(const Params& params) {
  json a = json::array();
  for (const auto& [k, v] : params) {
    a.push_back(k);
    a.push_back(v);
  }
  return a;
}

json addresses_to_json(const std::vector<Address>& list) {
  json a = json::array();
  for (const auto& ad : list) {
    a.push_back(ad.name);
    a.push_back(ad.route);
    a.push_back(ad.mailbox);
    a.push_back(ad.host);
    a.push_back((ad.group_start ? 1 : 0) | (ad.group_end ? 2 : 0));
  }
  return a;
}

json envelope_to_json(const Envelope& e) {
  return json::array({e.date, e.subject, e.in_reply_to, e.message_id, addresses_to_json(e.from),
                      e.sender == e.from ? json(nullptr) : addresses_to_json(e.sender),
                      e.reply_to == e.from ? json(nullptr) : addresses_to_json(e.reply_to),
                      addresses_to_json(e.to), addresses_to_json(e.cc), addresses_to_json(e.bcc)});
}

json part_to_json(const Part& p) {
  json children = json::array();
  for (const auto& c : p.children) children.push_back(part_to_json(c));  // depth parser-bounded
  json language = json::array();
  for (const auto& l : p.language) language.push_back(l);
  return json::array({p.header_offset, p.header_size, p.body_offset, p.body_size, p.body_lines,
                      p.type, p.subtype, params_to_json(p.params), p.id, p.description, p.encoding,
                      p.md5, p.disposition, params_to_json(p.disposition_params), std::move(language),
                      p.location, std::move(children),
                      p.envelope ? envelope_to_json(*p.envelope) : json(nullptr)});
}

const json& at(const json& a, size_t i) {
  if (!a.is_array() || i >= a.size()) throw BadBlob{};
  return a[i];
}
const json& array_at(const json& a, size_t i) {
  const json& v = at(a, i);
  if (!v.is_array()) throw BadBlob{};
  return v;
}
std::string str(const json& v) {
  if (!v.is_string()) throw BadBlob{};
  return v.get_ref<const std::string&>();
}
uint64_t num(const json& v) {
  if (!v.is_number_unsigned()) throw BadBlob{};
  return v.get<uint64_t>();
}

Params params_from_json(const json& a) {
  if (!a.is_array() || a.size() % 2 != 0) throw BadBlob{};
  Params out;
  out.reserve(a.size() / 2);
  for (size_t i = 0; i < a.size(); i += 2) out.emplace_back(str(a[i]), str(a[i + 1]));
  return out;
}

std::vector<Address> addresses_from_json(const json& a) {
  if (!a.is_array() || a.size() % 5 != 0) throw BadBlob{};
  std::vector<Address> out;
  out.reserve(a.size() / 5);
  for (size_t i = 0; i < a.size(); i += 5) {
    Address ad;
    ad.name = str(a[i]);
    ad.route = str(a[i + 1]);
    ad.mailbox = str(a[i + 2]);
    ad.host = str(a[i + 3]);
    uint64_t flags = num(a[i + 4]);
    if (flags > 3) throw BadBlob{};
    ad.group_start = flags & 1;
    ad.group_end = flags & 2;
    out.push_back(std::move(ad));
  }
  return out;
}

Envelope envelope_from_json(const json& a) {
  if (!a.is_array() || a.size() != 10) throw BadBlob{};
  Envelope e;
  e.date = str(a[0]);
  e.subject = str(a[1]);
  e.in_reply_to = str(a[2]);
  e.message_id = str(a[3]);
  e.from = addresses_from_json(a[4]);
  e.sender = a[5].is_null() ? e.from : addresses_from_json(a[5]);
  e.reply_to = a[6].is_null() ? e.from : addresses_from_json(a[6]);
  e.to = addresses_from_json(a[7]);
  e.cc = addresses_from_json(a[8]);
  e.bcc = addresses_from_json(a[9]);
  return e;
}

Part part_from_json(const json& a, size_t depth) {
  if (depth > kMaxDepth || !a.is_array() || a.size() != kPartFields) throw BadBlob{};
  Part p;
  p.header_offset = num(a[0]);
  p.header_size = num(a[1]);
  p.body_offset = num(a[2]);
  p.body_size = num(a[3]);
  p.body_lines = num(a[4]);
  p.type = str(a[5]);
  p.subtype = str(a[6]);
  p.params = params_from_json(a[7]);
  p.id = str(a[8]);
  p.description = str(a[9]);
  p.encoding = str(a[10]);
  p.md5 = str(a[11]);
  p.disposition = str(a[12]);
  p.disposition_params = params_from_json(a[13]);
  for (const auto& l : array_at(a, 14)) p.language.push_back(str(l));
  p.location = str(a[15]);
  const json& children = array_at(a, 16);
  p.children.reserve(children.size());
  for (const auto& c : children) p.children.push_back(part_from_json(c, depth + 1));
  if (!a[17].is_null()) p.envelope = envelope_from_json(a[17]);
  return p;
}

}  // namespace

std::string to_blob(const ParsedMessage& m) {
  json headers = json::array();
  for (const auto& h : m.top_headers) {
    headers.push_back(h.name);
    headers.push_back(h.value);
    headers.push_back(h.offset);
    headers.push_back(h.size);
  }
  json doc = json::array({kBlobVersion, part_to_json(m.root), envelope_to_json(m.envelope),
                          std::move(headers), m.limits_hit});
  std::string out;
  json::to_cbor(doc, out);
  return out;
}

std::optional<ParsedMessage> from_blob(std::string_view blob) {
  try {
    json doc = json::from_cbor(blob.begin(), blob.end(), /*strict=*/true, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_array() || doc.size() != 5) return std::nullopt;
    if (!doc[0].is_number_unsigned() || doc[0].get<uint64_t>() != kBlobVersion) return std::nullopt;
    ParsedMessage m;
    m.root = part_from_json(doc[1], 0);
    m.envelope = envelope_from_json(doc[2]);
    const json& headers = doc[3];
    if (!headers.is_array() || headers.size() % 4 != 0) return std::nullopt;
    m.top_headers.reserve(headers.size() / 4);
    for (size_t i = 0; i < headers.size(); i += 4)
      m.top_headers.push_back(
          HeaderField{str(headers[i]), str(headers[i + 1]), num(headers[i + 2]), num(headers[i + 3])});
    if (!doc[4].is_boolean()) return std::nullopt;
    m.limits_hit = doc[4].get<bool>();
    return m;
  } catch (const BadBlob&) {
    return std::nullopt;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace roost::mail
