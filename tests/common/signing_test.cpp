#include "core/protocol/signing.h"

#include <gtest/gtest.h>

#include <vector>

namespace dxhub::protocol {
namespace {

TEST(Signing, DigestsMatchKnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // GB/T 32905-2016 example 1.
  EXPECT_EQ(body_digest(SignatureMethod::kHmacSm3, "abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(Signing, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(sign(SignatureMethod::kHmacSha256, "Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signing, SignatureDependsOnEveryPart) {
  auto base = string_to_sign("POST", "/api/v1/x", 1000, "n1", "d1");
  EXPECT_EQ(base, "POST\n/api/v1/x\n1000\nn1\nd1\n\n\n");
  auto sig = sign(SignatureMethod::kHmacSm3, "secret", base);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_NE(sig, sign(SignatureMethod::kHmacSm3, "secret2", base));
  EXPECT_NE(sig, sign(SignatureMethod::kHmacSm3, "secret", string_to_sign("POST", "/api/v1/x", 1001, "n1", "d1")));
  EXPECT_NE(sig, sign(SignatureMethod::kHmacSha256, "secret", base));
  EXPECT_TRUE(equal_constant_time(sig, sig));
  EXPECT_FALSE(equal_constant_time(sig, sig.substr(1)));
}

// A batch's id, epoch and sequence are signed: changing any of them (or
// moving a value from one to another) changes the string to sign.
TEST(Signing, BatchHeadersAreSigned) {
  auto batch = string_to_sign("POST", "/api/v1/x", 1000, "n1", "d1", SignedBatch{"b1", "7", "3"});
  EXPECT_EQ(batch, "POST\n/api/v1/x\n1000\nn1\nd1\nb1\n7\n3");
  for (const SignedBatch& other : {SignedBatch{"b2", "7", "3"}, SignedBatch{"b1", "8", "3"},
                                   SignedBatch{"b1", "7", "4"}, SignedBatch{"b1", "3", "7"},
                                   SignedBatch{"", "7", "3"}}) {
    EXPECT_NE(batch, string_to_sign("POST", "/api/v1/x", 1000, "n1", "d1", other));
  }
}

TEST(Signing, ReceiptStringCoversEveryField) {
  ReceiptFields r{"rc", "b", "res", 5, 6, 7, 1, 3, "dg", "fp", "2026-01-01T00:00:00Z"};
  const std::string base = receipt_string_to_sign(r);
  EXPECT_EQ(base, "dxhub-receipt-v2\nrc\nb\nres\n5\n6\n7\n1\n3\ndg\nfp\n2026-01-01T00:00:00Z");
  std::vector<ReceiptFields> changed(11, r);
  changed[0].receipt_id += "x";
  changed[1].batch_id += "x";
  changed[2].resource += "x";
  changed[3].epoch += 1;
  changed[4].sequence += 1;
  changed[5].records_accepted += 1;
  changed[6].duplicate_keys += 1;
  changed[7].digest += "x";
  changed[8].fingerprint += "x";
  changed[9].received_at += "x";
  changed[10].deleted += 1;
  for (const ReceiptFields& c : changed) EXPECT_NE(receipt_string_to_sign(c), base);
}

TEST(Signing, MethodNamesRoundTrip) {
  EXPECT_EQ(*parse_signature_method("HMAC-SM3"), SignatureMethod::kHmacSm3);
  EXPECT_EQ(*parse_signature_method(signature_method_name(SignatureMethod::kHmacSha256)), SignatureMethod::kHmacSha256);
  EXPECT_EQ(parse_signature_method("MD5").status().code(), StatusCode::kConfig);
  EXPECT_NE(random_hex(), random_hex());
  EXPECT_EQ(random_hex(8).size(), 16u);
}

}  // namespace
}  // namespace dxhub::protocol
