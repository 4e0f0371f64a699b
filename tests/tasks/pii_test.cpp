// SPDX-License-Identifier: Apache-2.0
// PII detection: positives with their exact spans, negatives that look like PII but are not
// (checksums that fail, impossible dates, prices, order numbers, versions, times), redaction,
// and robustness on arbitrary bytes. Check digits below were computed independently (Python).
#include <gtest/gtest.h>

#include <edgecloud/tasks/pii.hpp>
#include <cstdio>
#include <random>
#include <string>

using namespace edgecloud::tasks;

namespace {

std::vector<std::string> found(std::string_view text, pii_kind kind) {
  std::vector<std::string> out;
  for (const pii_span& s : detect_pii(text))
    if (s.kind == kind) out.emplace_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

struct positive {
  std::string text;
  pii_kind kind;
  std::string expected;  // exact matched substring
};

class PiiPositive : public ::testing::TestWithParam<positive> {};

TEST_P(PiiPositive, FindsExactSpan) {
  const positive& p = GetParam();
  auto spans = detect_pii(p.text);
  bool hit = false;
  for (const pii_span& s : spans) {
    std::string got = p.text.substr(s.begin, s.end - s.begin);
    if (s.kind == p.kind && got == p.expected) hit = true;
  }
  std::string all;
  for (const pii_span& s : spans)
    all += std::string(to_string(s.kind)) + ":'" + p.text.substr(s.begin, s.end - s.begin) + "' ";
  EXPECT_TRUE(hit) << "text: " << p.text << "\nexpected " << to_string(p.kind) << ": '"
                   << p.expected << "'\nfound: " << all;
}

INSTANTIATE_TEST_SUITE_P(
    All, PiiPositive,
    ::testing::Values(
        // Chinese mobile numbers, bare, separated, with country code.
        positive{"我的手机号是13812345678，请回电", pii_kind::phone, "13812345678"},
        positive{"call 138 1234 5678 tomorrow", pii_kind::phone, "138 1234 5678"},
        positive{"电话：138-1234-5678。", pii_kind::phone, "138-1234-5678"},
        positive{"+86 139 0000 1111", pii_kind::phone, "+86 139 0000 1111"},
        positive{"+8613900001111", pii_kind::phone, "+8613900001111"},
        positive{"0086 13900001111", pii_kind::phone, "0086 13900001111"},
        positive{"联系19912345678", pii_kind::phone, "19912345678"},
        // Landlines and international numbers.
        positive{"办公室 010-62345678", pii_kind::phone, "010-62345678"},
        positive{"(0755) 2345678 转 8", pii_kind::phone, "(0755) 2345678"},
        positive{"Call +1 415 555 2671 now", pii_kind::phone, "+1 415 555 2671"},
        positive{"Call (415) 555-2671 now", pii_kind::phone, "(415) 555-2671"},
        positive{"office: 415-555-2671.", pii_kind::phone, "415-555-2671"},
        positive{"London +44 20 7946 0958", pii_kind::phone, "+44 20 7946 0958"},
        // Resident IDs (ISO 7064 MOD 11-2 check digits verified independently).
        positive{"身份证号11010519491231002X", pii_kind::id_number, "11010519491231002X"},
        positive{"ID: 44030419900307123x.", pii_kind::id_number, "44030419900307123x"},
        positive{"320106200002294562 是我的证件号", pii_kind::id_number, "320106200002294562"},
        positive{"身份证：510108198510150037", pii_kind::id_number, "510108198510150037"},
        // Emails.
        positive{"mail me at zhang.san+test@example.com.cn!", pii_kind::email,
                 "zhang.san+test@example.com.cn"},
        positive{"邮箱是lisi_01@qq.com谢谢", pii_kind::email, "lisi_01@qq.com"},
        positive{"<a.b@sub-domain.example.org>", pii_kind::email, "a.b@sub-domain.example.org"},
        // Bank cards (Luhn-valid).
        positive{"卡号 6222 0202 0011 2233 49", pii_kind::bank_card, "6222 0202 0011 2233 49"},
        positive{"card 4111-1111-1111-1111 exp", pii_kind::bank_card, "4111-1111-1111-1111"},
        positive{"银行卡6228480012345678903", pii_kind::bank_card, "6228480012345678903"},
        positive{"amex 3782 822463 10005", pii_kind::bank_card, "3782 822463 10005"},
        positive{"5500000000000004", pii_kind::bank_card, "5500000000000004"},
        // IP addresses.
        positive{"server at 192.168.1.10, port 80", pii_kind::ip_address, "192.168.1.10"},
        positive{"来自IP 8.8.8.8 的请求", pii_kind::ip_address, "8.8.8.8"},
        positive{"host 2001:db8:85a3::8a2e:370:7334 up", pii_kind::ip_address,
                 "2001:db8:85a3::8a2e:370:7334"},
        positive{"fe80:0:0:0:202:b3ff:fe1e:8329", pii_kind::ip_address,
                 "fe80:0:0:0:202:b3ff:fe1e:8329"},
        // Chinese addresses.
        positive{"我住在北京市朝阳区建国路88号，快递放门口", pii_kind::address,
                 "北京市朝阳区建国路88号"},
        positive{"寄到上海市浦东新区世纪大道100号3号楼2单元401室。", pii_kind::address,
                 "上海市浦东新区世纪大道100号3号楼2单元401室"},
        positive{"地址是中山路12号", pii_kind::address, "中山路12号"},
        positive{"广东省深圳市南山区科技园南路8号", pii_kind::address,
                 "广东省深圳市南山区科技园南路8号"},
        positive{"阳光小区5栋1201室", pii_kind::address, "阳光小区5栋1201室"},
        positive{"南锣鼓巷十二号", pii_kind::address, "南锣鼓巷十二号"},
        // English addresses.
        positive{"I live at 221B Baker Street, London.", pii_kind::address, "221B Baker Street"},
        positive{"Ship to 1600 Amphitheatre Parkway, Mountain View, CA 94043 please",
                 pii_kind::address, "1600 Amphitheatre Parkway, Mountain View, CA 94043"},
        positive{"Office: 350 Fifth Ave., Suite 3300", pii_kind::address,
                 "350 Fifth Ave., Suite 3300"},
        positive{"meet at 42 W 57th St tonight", pii_kind::address, "42 W 57th St"}));

class PiiNegative : public ::testing::TestWithParam<std::string> {};

TEST_P(PiiNegative, FindsNothing) {
  std::string text = GetParam();
  auto spans = detect_pii(text);
  std::string all;
  for (const pii_span& s : spans)
    all += std::string(to_string(s.kind)) + ":'" + text.substr(s.begin, s.end - s.begin) + "' ";
  EXPECT_TRUE(spans.empty()) << "text: " << text << "\nfound: " << all;
}

INSTANTIATE_TEST_SUITE_P(
    All, PiiNegative,
    ::testing::Values(
        // IDs with a wrong check digit, an impossible date, an unknown region.
        "身份证号110105194912310021", "11010519491231002Y", "110105194902300028",  // Feb 30
        "990105194912310021",                                                      // region 99
        "320106200102294567",  // 2001-02-29 is not a date
        // Luhn failures and non-card prefixes.
        "卡号 6222 0202 0011 2233 45", "4111 1111 1111 1112", "1234567890123456",
        "订单号 202311211234567890", "order #2023112100017 shipped",
        // Prices, dates, times, versions, quantities.
        "价格 ¥1380.00 元", "总价13800.50元", "It costs $1,234,567.89", "日期 2023-11-21 12:30:45",
        "2023年11月21日", "version 1.2.3.4.5", "v10.0.0.1 released", "release 2.10.3",
        "时间 13:45:30", "ratio 3:2:1", "1000000000 tokens", "build 13812345678901 finished",
        "timestamp 1700000000000", "距离 1382 公里", "serial ABC13812345678",
        "13812345678.5 is not a phone",  // a decimal
        // Phone-shaped but not phones.
        "12345678901", "11012345678", "Room 555-2671", "ISBN 978-7-111-12345-6",
        // Emails that are not.
        "user@localhost", "@handle", "a@b.c", "x@@y.com",
        // IPs that are not.
        "256.1.1.1", "1.2.3", "01.2.3.4", "std::vector<int>", "a::b", "12:30",
        // Everyday Chinese that looks like addresses.
        "我知道3号要开会", "下个月5号见", "这条路很长", "北京市朝阳区", "第3号选手", "一路向北",
        // English without a street.
        "I have 3 Apple Watches", "Chapter 5 Road", "buy 2 Way", "Top 10 Reasons to Go"));

TEST(Pii, SpansAreSortedAndDisjointAndMixedKindsAllFound) {
  std::string text =
      "张三，电话13812345678，邮箱zs@example.com，身份证11010519491231002X，卡号4111111111111111，"
      "住北京市海淀区中关村大街27号，服务器10.0.0.1。";
  auto spans = detect_pii(text);
  ASSERT_EQ(spans.size(), 6u);
  for (size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].end, spans[i].begin);
  EXPECT_EQ(spans[0].kind, pii_kind::phone);
  EXPECT_EQ(spans[1].kind, pii_kind::email);
  EXPECT_EQ(spans[2].kind, pii_kind::id_number);
  EXPECT_EQ(spans[3].kind, pii_kind::bank_card);
  EXPECT_EQ(spans[4].kind, pii_kind::address);
  EXPECT_EQ(spans[5].kind, pii_kind::ip_address);
  EXPECT_EQ(
      redact(text, spans),
      "张三，电话[PHONE]，邮箱[EMAIL]，身份证[ID]，卡号[BANK_CARD]，住[ADDRESS]，服务器[IP]。");
}

// The published check-digit algorithms, written here from their standards so the detector's
// own helpers are not their own reference.
// GB 11643-1999 / ISO 7064 MOD 11-2: weights 2^(17-i) mod 11 over the first 17 digits;
// check = (12 - sum mod 11) mod 11, where 10 is written 'X'.
namespace {
char mod11_2_check(const std::string& first17) {
  int sum = 0, weight = 1;
  for (int i = 16; i >= 0; --i) {
    weight = (weight * 2) % 11;  // 2^(17-i) mod 11 for position i
    sum += (first17[static_cast<size_t>(i)] - '0') * weight;
  }
  const int c = (12 - sum % 11) % 11;
  return c == 10 ? 'X' : static_cast<char>('0' + c);
}
// Luhn (ISO/IEC 7812-1): from the right, double every second digit, subtract 9 when over 9;
// valid when the sum is a multiple of 10.
bool luhn(const std::string& digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}
}  // namespace

TEST(Pii, ReferenceCheckDigitsMatchPublishedExamples) {
  EXPECT_EQ(mod11_2_check("11010519491231002"), 'X');  // the GB 11643 example
  EXPECT_TRUE(luhn("79927398713"));                     // the ISO/IEC 7812 example
  EXPECT_FALSE(luhn("79927398710"));
  EXPECT_TRUE(luhn("4111111111111111"));
}

TEST(Pii, IdThatAlsoPassesLuhnIsReportedOnceAsId) {
  // 18-digit IDs with a valid MOD 11-2 check (born 1949-12-31 in 620102, Lanzhou: "62" is also
  // UnionPay's card prefix, so the card scanner sees them too) that also pass Luhn, both decided
  // by the reference implementations above: the ID must win the overlap, once, over the whole
  // string.
  int both = 0;
  for (int serial = 0; serial < 1000; ++serial) {
    char digits[4];
    std::snprintf(digits, sizeof digits, "%03d", serial);
    const std::string first17 = std::string("62010219491231") + digits;
    const std::string id = first17 + mod11_2_check(first17);
    if (!luhn(id)) continue;
    ++both;
    const auto spans = detect_pii("ID " + id + " end");
    ASSERT_EQ(spans.size(), 1u) << id;
    EXPECT_EQ(spans[0].kind, pii_kind::id_number) << id;
    EXPECT_EQ(spans[0].begin, 3u) << id;
    EXPECT_EQ(spans[0].end, 3u + 18u) << id;
  }
  EXPECT_GE(both, 50) << "about one in ten IDs passes Luhn";
}

TEST(Pii, ChecksumHelpersMatchPublishedExamples) {
  using namespace edgecloud::tasks::detail::pii;
  EXPECT_EQ(id_check_character("11010519491231002"), 'X');  // GB 11643 example
  EXPECT_TRUE(luhn_valid("79927398713"));                   // ISO/IEC 7812 example
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_TRUE(valid_birth_date(2000, 2, 29));
  EXPECT_FALSE(valid_birth_date(1900, 2, 29));
  EXPECT_FALSE(valid_birth_date(2023, 4, 31));
}

TEST(Pii, OptionsDisableKindsAndFilterByConfidence) {
  std::string text = "13812345678 a@example.com";
  pii_options no_phone;
  no_phone.phones = false;
  auto spans = detect_pii(text, no_phone);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].kind, pii_kind::email);
  pii_options strict;
  strict.min_confidence = 0.97;
  spans = detect_pii(text, strict);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].kind, pii_kind::email);
}

TEST(Pii, RedactHandlesUnsortedOverlappingAndRejectsOutOfRange) {
  std::string text = "abcdefghij";
  std::vector<pii_span> spans = {
      {6, 8, pii_kind::email, 1}, {1, 3, pii_kind::phone, 1}, {2, 5, pii_kind::ip_address, 1}};
  EXPECT_EQ(redact(text, spans), "a[PHONE]f[EMAIL]ij");
  std::vector<pii_span> bad = {{5, 11, pii_kind::phone, 1}};
  EXPECT_THROW(redact(text, bad), edgecloud::config_error);
  EXPECT_EQ(redact("", std::vector<pii_span>{}), "");
}

TEST(Pii, RedactedTextHasNoPiiLeft) {
  std::string text =
      "联系 +86 139 0000 1111 或 lisi@corp.example.com，地址 上海市黄浦区南京东路100号";
  std::string r = redact(text);
  EXPECT_EQ(r.find("139"), std::string::npos);
  EXPECT_EQ(r.find("lisi"), std::string::npos);
  EXPECT_EQ(r.find("南京东路"), std::string::npos);
  EXPECT_TRUE(detect_pii(r).empty()) << r;
}

bool is_char_boundary(std::string_view s, size_t i) {
  return i == 0 || i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

TEST(Pii, ArbitraryBytesNeverCrashAndSpansStayInBounds) {
  std::mt19937 rng(1234);
  const std::string alphabet[] = {"1",    "3",    "8",    "0",  "X",  "@",  ".",  ":", "-", " ",
                                  "+",    "(",    ")",    "号", "路", "市", "区", "a", "e", "St",
                                  "\xE4", "\xFF", "\x80", "é",  "中", "c",  "m",  "9", "5", "6"};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    int n = std::uniform_int_distribution<int>(0, 60)(rng);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % std::size(alphabet)];
    auto spans = detect_pii(text);
    for (size_t i = 0; i < spans.size(); ++i) {
      ASSERT_LE(spans[i].begin, spans[i].end);
      ASSERT_LE(spans[i].end, text.size());
      if (i > 0) ASSERT_LE(spans[i - 1].end, spans[i].begin);
    }
    std::string r = redact(text, spans);
    (void)r;
  }
}

TEST(Pii, SpansOnValidUtf8StartAndEndOnCharacterBoundaries) {
  std::mt19937 rng(99);
  const std::string pieces[] = {
      "13812345678",     "北京市",      "朝阳区", "建国路", "88号",  "，", "é",
      "a@b.example.com", "192.168.0.1", "😀",      "单元",   "3号楼", " ",  "路"};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text;
    int n = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int i = 0; i < n; ++i) text += pieces[rng() % std::size(pieces)];
    for (const pii_span& s : detect_pii(text)) {
      ASSERT_TRUE(is_char_boundary(text, s.begin)) << text;
      ASSERT_TRUE(is_char_boundary(text, s.end)) << text;
    }
  }
}

}  // namespace
