"""Chinese names, companies, phone numbers and message bodies for generated phones."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "子豪", "欣怡", "梓涵", "浩然", "雨萱", "宇航")
TITLES = ("经理", "总", "主任", "工", "老板", "姐", "哥")
COMPANY_PREFIX = ("上海", "浦东", "嘉定", "松江", "苏州", "昆山", "杭州", "宁波", "无锡", "南通")
COMPANY_CORE = ("华信", "恒丰", "瑞达", "金桥", "东方", "宏远", "鑫源", "佳美", "天成", "博睿", "汇通", "永安", "联创")
COMPANY_KIND = ("贸易", "机电设备", "五金", "建材", "医疗器械", "食品", "包装材料", "电子科技", "物流", "装饰工程")
COMPANY_SUFFIX = ("有限公司", "股份有限公司", "商行", "经营部")

MOBILE_PREFIXES = ("138", "139", "135", "136", "137", "150", "151", "152", "158", "159", "182", "183", "187", "188",
                   "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "199", "177")
AREA_CODES = (("021", "上海"), ("0512", "江苏苏州"), ("0571", "浙江杭州"), ("0574", "浙江宁波"), ("025", "江苏南京"),
              ("0510", "江苏无锡"), ("010", "北京"), ("020", "广东广州"), ("0755", "广东深圳"))
MOBILE_GEO = ("上海", "江苏苏州", "浙江杭州", "江苏南京", "安徽合肥", "浙江宁波")
SERVICE_NUMBERS = (("95588", "工商银行"), ("95533", "建设银行"), ("10086", "中国移动"), ("10010", "中国联通"),
                   ("4008205555", None), ("4006695566", None), ("95338", "顺丰速运"), ("95311", "中通快递"))
SMS_GATEWAYS = ("1069", "10690", "1065", "106")
IP_PREFIXES = ("17951", "12593", "17911")


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def company_name(rng: random.Random) -> str:
    return rng.choice(COMPANY_PREFIX) + rng.choice(COMPANY_CORE) + rng.choice(COMPANY_KIND) + rng.choice(COMPANY_SUFFIX)


def mobile(rng: random.Random) -> str:
    """11-digit national mobile number."""
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def landline(rng: random.Random) -> tuple[str, str]:
    """(national number with trunk prefix, place)."""
    code, place = rng.choice(AREA_CODES)
    digits = 8 if len(code) == 3 else rng.choice((7, 8))
    return code + rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(digits - 1)), place


def as_entered(rng: random.Random, national: str) -> str:
    """A number the way people type it into contacts: +86, 0086, spaces, dashes or bare."""
    if national.startswith("0"):
        code_len = 3 if national[1] in "12" else 4
        style = rng.choice(("dash", "bare", "plus", "space"))
        if style == "dash":
            return f"{national[:code_len]}-{national[code_len:]}"
        if style == "plus":
            return f"+86 {national[1:code_len]} {national[code_len:]}"
        if style == "space":
            return f"{national[:code_len]} {national[code_len:code_len + 4]} {national[code_len + 4:]}"
        return national
    style = rng.choice(("bare", "bare", "plus", "plus_space", "0086", "space"))
    if style == "plus":
        return "+86" + national
    if style == "plus_space":
        return f"+86 {national[:3]} {national[3:7]} {national[7:]}"
    if style == "0086":
        return "0086" + national
    if style == "space":
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return national


def as_received(rng: random.Random, national: str) -> str:
    """How the network presents a caller/sender: mostly +86 for mobiles."""
    if national.startswith("0") or len(national) < 11:
        return national
    return "+86" + national if rng.random() < 0.7 else national


def visit_sms(rng: random.Random, customer: str, company: str, when: str) -> list[tuple[int, str]]:
    """A short thread with a customer: (sms type, body); type 1 inbox, 2 sent."""
    product = rng.choice(("A型阀门", "B200控制器", "不锈钢管件", "LED工矿灯", "包装膜", "液压泵"))
    price = rng.randrange(80, 3000)
    options = [
        [(2, f"{customer}您好，我是今天{when}过来拜访的小刘，地址没变吧？"),
         (1, "没变，到了打我电话。"),
         (2, "好的👌 大概半小时到")],
        [(1, f"报价收到了，{product}单价={price}元，能不能再便宜点？"),
         (2, f"王总，{product}最低价可以到{price - 10}元,量大还有优惠😊"),
         (1, "行，明天下单")],
        [(2, f"【{company}】对账单：\n1月货款=¥{price * 7:,}\n2月货款=¥{price * 5:,}\n合计=¥{price * 12:,}\n请核对，谢谢！"),
         (1, "收到，财务周五付款。")],
        [(1, f"小刘，上次那批{product}有两件质量问题，麻烦来看一下"),
         (2, "抱歉！今天下午就过去处理，给您换新的🙏")],
        [(2, f"{customer}，合同已发邮箱,a=3,b=5 两个方案请确认。\n有问题随时联系！"),
         (1, "OK👍")],
    ]
    return rng.choice(options)


def service_sms(rng: random.Random) -> tuple[str, str]:
    """(sender, body) of an automated message."""
    code = "".join(rng.choice("0123456789") for _ in range(6))
    choices = [
        ("10086", f"尊敬的客户，您本月已使用流量{rng.randrange(1, 30)}.{rng.randrange(10, 99)}GB，"
                  f"套餐剩余{rng.randrange(1, 20)}GB。【中国移动】"),
        ("95588", f"您尾号{rng.randrange(1000, 9999)}卡{rng.randrange(1, 28)}日{rng.randrange(8, 20)}:"
                  f"{rng.randrange(10, 59)}收入(货款)¥{rng.randrange(1000, 90000):,}.00，余额¥{rng.randrange(1000, 99999):,}.{rng.randrange(10, 99)}。【工商银行】"),
        (rng.choice(SMS_GATEWAYS) + "".join(rng.choice("0123456789") for _ in range(8)),
         f"【钉钉】验证码{code}，用于登录验证，5分钟内有效。如非本人操作请忽略。"),
        ("95338", f"【顺丰速运】您的快件SF{rng.randrange(10**11, 10**12)}已由前台代收，如有疑问请联系派件员。"),
    ]
    return rng.choice(choices)
