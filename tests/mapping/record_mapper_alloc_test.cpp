// map() must not touch the heap per row: counts C++ and avro-c allocations
// across many rows once the reused value has warmed up.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/mapping/record_mapper.h"
#include "tests/mapping/mapper_test_support.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* counted_malloc(size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Same semantics as avro-c's default allocator (realloc/free), plus a count.
void* counting_avro_allocator(void*, void* ptr, size_t, size_t nsize) {
  if (nsize == 0) {
    std::free(ptr);
    return nullptr;
  }
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(ptr, nsize);
}
}  // namespace

void* operator new(size_t size) { return counted_malloc(size); }
void* operator new[](size_t size) { return counted_malloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace dxhub {
namespace {

TEST(RecordMapperAllocationTest, MapAndEncodeDoNotAllocatePerRow) {
  avro_set_allocator(counting_avro_allocator, nullptr);
  const std::string dir = std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security/";
  auto schema = avro::Schema::from_file(dir + "household_population.avsc");
  ASSERT_TRUE(schema.has_value());
  auto mapper = RecordMapper::load(dir + "household_population.mapping.json", *schema);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  ASSERT_TRUE(mapper->bind({"id", "gmsfhm", "xm", "xb", "mz", "csrq", "hh", "yhzgx", "hjdz", "sspcs", "xzjd",
                            "qrrq", "ryzt", "gxsj"}).is_ok());
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());

  testing::OwnedRow a, b;
  a.integer(1).text("42028119850312002X").text("柯丽").text("2").text("汉族").text("1985-03-12")
      .text("100000001").text("户主").text("湖北省大冶市金山店镇马坪村3组17号").text("大冶市公安局金山店派出所")
      .text("金山店镇").null().text("1").text("2025-01-01 08:00:00");
  b.integer(2).text("420281195402114677").text("欧阳建国").text("1").text("土家族").text("1954-02-11")
      .text("100000002").text("父亲").text("湖北省大冶市东岳路街道新冶大道12号3栋2单元501室")
      .text("大冶市公安局东岳路派出所").text("东岳路街道").text("2008-05-25").text("3").integer(1735689600000);
  for (int i = 0; i < 4; ++i) {  // warm up: string buffers reach their size
    avro_value_reset(value->get());
    ASSERT_TRUE(mapper->map((i % 2 ? b : a).view(), value->get()).is_ok());
  }
  g_allocations = 0;
  g_counting = true;
  bool all_ok = true;
  for (int i = 0; i < 2000; ++i) {
    avro_value_reset(value->get());
    all_ok = mapper->map((i % 2 ? b : a).view(), value->get()).is_ok() && all_ok;
  }
  g_counting = false;
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(g_allocations.load(), 0);

  // encode() into a reused buffer: no allocation once it has grown, not
  // from avro-c either (the compiled path does not use it).
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out.clear();
    ASSERT_TRUE(mapper->encode((i % 2 ? b : a).view(), out).is_ok());
  }
  g_allocations = 0;
  g_counting = true;
  size_t total = 0;
  for (int i = 0; i < 2000; ++i) {
    out.clear();
    all_ok = mapper->encode((i % 2 ? b : a).view(), out).is_ok() && all_ok;
    total += out.size();
  }
  g_counting = false;
  EXPECT_TRUE(all_ok);
  EXPECT_GT(total, 2000u * 100u);
  EXPECT_EQ(g_allocations.load(), 0);

  // The counters do see allocations, from C++ and from avro-c.
  g_counting = true;
  auto probe = std::make_unique<std::string>(100, 'x');
  const long cxx = g_allocations.exchange(0);
  auto another = schema->new_value();
  const long avro = g_allocations.exchange(0);
  g_counting = false;
  EXPECT_GE(cxx, 1);
  EXPECT_GE(avro, 1);
}

}  // namespace
}  // namespace dxhub
