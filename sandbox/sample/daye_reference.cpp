#include "sandbox/sample/daye_reference.h"

#include <array>

namespace dxhub::sample {

namespace {

using namespace std::string_view_literals;

// Villages of 金山店镇 and 殷祖镇 are the real ones from the catalog; the other
// places are invented but follow local naming (…湾村, …畈村, …社区, roads).
constexpr std::array kDongyueRoads = {"东岳路"sv, "新冶大道"sv, "湛月路"sv, "人民路"sv, "建设路"sv, "红卫路"sv};
constexpr std::array kDongfengRoads = {"东风路"sv, "大冶大道"sv, "华中路"sv, "冶炼路"sv, "尹家湖路"sv};
constexpr std::array kJinhuRoads = {"金湖大道"sv, "港湖路"sv, "雨润大道"sv, "黄金湖路"sv, "湖滨路"sv};
constexpr std::array kLuojiaqiaoRoads = {"罗桥路"sv, "桂花路"sv, "新街路"sv, "矿山路"sv, "熊家洲路"sv};
constexpr std::array kJinshanRoads = {"金山大道"sv, "汪仁路"sv, "铜山路"sv, "开发区大道"sv};
constexpr std::array kJinniuPlaces = {"金牛社区"sv, "胡彦贵村"sv, "袁铺村"sv, "小箕铺村"sv, "西畈村"sv, "毕铺村"sv};
constexpr std::array kBaoanPlaces = {"保安社区"sv, "沼山村"sv, "尹解元村"sv, "栗山村"sv, "石门村"sv, "沈家营村"sv};
constexpr std::array kLingxiangPlaces = {"灵乡社区"sv, "坳头村"sv, "长坪村"sv, "大庄村"sv, "胡家湾村"sv};
constexpr std::array kJinshandianPlaces = {"新村社区"sv, "富民社区"sv, "土桥村"sv, "马坪村"sv, "向阳村"sv,
                                           "山下村"sv, "火石村"sv, "白合村"sv, "梅山村"sv, "龙口村"sv};
constexpr std::array kHuandiqiaoPlaces = {"还地桥社区"sv, "南山头村"sv, "柯大兴村"sv, "石花村"sv, "余太畈村"sv};
constexpr std::array kYinzuPlaces = {"殷祖街社区"sv, "殷祖村"sv, "塘下村"sv, "北山村"sv, "丁山村"sv,
                                     "赤山村"sv, "洪口村"sv, "五庄村"sv, "江畈村"sv, "南山村"sv};
constexpr std::array kWangrenPlaces = {"汪仁社区"sv, "章山村"sv, "白沙村"sv, "黄思湾村"sv};
constexpr std::array kLiurenbaPlaces = {"刘仁八社区"sv, "金柯村"sv, "上冯村"sv, "黄金山村"sv, "畈上村"sv};
constexpr std::array kChenguiPlaces = {"陈贵社区"sv, "刘家畈村"sv, "大广山村"sv, "小雷山村"sv, "堰畈村"sv};
constexpr std::array kDajipuPlaces = {"大箕铺社区"sv, "柯家湾村"sv, "水南湾村"sv, "后畈村"sv, "曙光村"sv};
constexpr std::array kMingshanPlaces = {"茗山社区"sv, "华垅村"sv, "杨桥村"sv, "蔡胜村"sv};
constexpr std::array kDongfengFarmPlaces = {"东风农场社区"sv, "一分场"sv, "二分场"sv, "三分场"sv};
constexpr std::array kGaoxinPlaces = {"罗桥社区"sv, "新港村"sv, "花园村"sv, "湖滨社区"sv};

constexpr std::array kTownships = {
    DayeTownship{"东岳路街道", "东岳路", true, kDongyueRoads, 16},
    DayeTownship{"东风路街道", "东风路", true, kDongfengRoads, 12},
    DayeTownship{"金湖街道", "金湖", true, kJinhuRoads, 8},
    DayeTownship{"罗家桥街道", "罗家桥", true, kLuojiaqiaoRoads, 7},
    DayeTownship{"金山街道", "金山", true, kJinshanRoads, 4},
    DayeTownship{"金牛镇", "金牛", false, kJinniuPlaces, 8},
    DayeTownship{"保安镇", "保安", false, kBaoanPlaces, 6},
    DayeTownship{"灵乡镇", "灵乡", false, kLingxiangPlaces, 5},
    DayeTownship{"金山店镇", "金山店", false, kJinshandianPlaces, 5},
    DayeTownship{"还地桥镇", "还地桥", false, kHuandiqiaoPlaces, 7},
    DayeTownship{"殷祖镇", "殷祖", false, kYinzuPlaces, 4},
    DayeTownship{"汪仁镇", "汪仁", false, kWangrenPlaces, 3},
    DayeTownship{"刘仁八镇", "刘仁八", false, kLiurenbaPlaces, 3},
    DayeTownship{"陈贵镇", "陈贵", false, kChenguiPlaces, 5},
    DayeTownship{"大箕铺镇", "大箕铺", false, kDajipuPlaces, 5},
    DayeTownship{"茗山乡", "茗山", false, kMingshanPlaces, 2},
    DayeTownship{"东风农场管理区", "东风农场", false, kDongfengFarmPlaces, 1},
    DayeTownship{"大冶湖高新技术产业开发区", "高新区", false, kGaoxinPlaces, 2},
};

// 柯, 石, 刘, 陈, 黄 and 胡 are especially common in Daye.
constexpr std::array kSurnames = {
    Weighted{"柯", 60}, Weighted{"刘", 55}, Weighted{"陈", 55}, Weighted{"石", 40}, Weighted{"黄", 40},
    Weighted{"胡", 38}, Weighted{"王", 36}, Weighted{"李", 34}, Weighted{"张", 30}, Weighted{"吴", 25},
    Weighted{"余", 22}, Weighted{"程", 18}, Weighted{"明", 15}, Weighted{"曹", 14}, Weighted{"汪", 14},
    Weighted{"周", 13}, Weighted{"徐", 12}, Weighted{"袁", 11}, Weighted{"冯", 10}, Weighted{"姜", 9},
    Weighted{"殷", 9},  Weighted{"肖", 9},  Weighted{"熊", 8},  Weighted{"叶", 8},  Weighted{"杨", 8},
    Weighted{"何", 7},  Weighted{"罗", 7},  Weighted{"卫", 6},  Weighted{"费", 5},  Weighted{"邹", 5},
    Weighted{"朱", 5},  Weighted{"彭", 5},  Weighted{"郭", 4},  Weighted{"孙", 4},  Weighted{"欧阳", 2},
};

constexpr std::array kEthnicities = {
    Weighted{"汉族", 9860}, Weighted{"土家族", 40}, Weighted{"回族", 30}, Weighted{"苗族", 20},
    Weighted{"满族", 15},   Weighted{"壮族", 12},   Weighted{"蒙古族", 10}, Weighted{"侗族", 8},
    Weighted{"彝族", 5},
};

constexpr std::array kMaleChars = {"伟"sv, "强"sv, "军"sv, "勇"sv, "杰"sv, "涛"sv, "明"sv, "超"sv, "斌"sv, "磊"sv,
                                   "鹏"sv, "辉"sv, "刚"sv, "华"sv, "建"sv, "国"sv, "平"sv, "志"sv, "文"sv, "俊"sv,
                                   "浩"sv, "宇"sv, "晨"sv, "轩"sv, "博"sv, "海"sv, "林"sv, "波"sv, "峰"sv, "亮"sv,
                                   "成"sv, "兵"sv, "新"sv, "德"sv, "发"sv, "金"sv, "生"sv, "荣"sv, "松"sv, "保"sv};
constexpr std::array kFemaleChars = {"芳"sv, "娟"sv, "敏"sv, "静"sv, "丽"sv, "艳"sv, "霞"sv, "燕"sv, "玲"sv, "婷"sv,
                                     "雪"sv, "慧"sv, "红"sv, "梅"sv, "兰"sv, "英"sv, "秀"sv, "凤"sv, "萍"sv, "琴"sv,
                                     "洁"sv, "佳"sv, "欣"sv, "怡"sv, "雨"sv, "思"sv, "梦"sv, "诗"sv, "涵"sv, "悦"sv,
                                     "琳"sv, "颖"sv, "倩"sv, "莉"sv, "桂"sv, "珍"sv, "春"sv, "月"sv, "金"sv, "华"sv};

}  // namespace

std::span<const DayeTownship> daye_townships() { return kTownships; }
std::span<const Weighted> daye_surnames() { return kSurnames; }
std::span<const Weighted> daye_ethnicities() { return kEthnicities; }
std::span<const std::string_view> male_name_chars() { return kMaleChars; }
std::span<const std::string_view> female_name_chars() { return kFemaleChars; }

}  // namespace dxhub::sample
