"""The demo bank: a realistic 星海银行 to develop and demonstrate against, never real people.

``seed_demo_bank`` migrates the database and, if it has no customers yet, fills it in one
transaction: staff with skills and shifts, about 20 funds and wealth products (R1–R5), and
customers across tiers (~70% 大众, 25% 贵宾, 5% 私人银行) and risk levels C1–C5 with accounts,
cards (some frozen or lost), holdings and fixed-investment plans, six months of transactions
(salary, 美团/淘宝/京东, utility bills, rent, transfers), complaints, appointments, consents and a
few channel bindings. A handful of fixed demo customers (``DEMO_CUSTOMERS``) have memorable data.

The same seed and day give the same bank; dates run up to the day before ``today``. Numbers are
well formed (Luhn check digits, GB 11643 ID check characters) but use prefixes no real bank issues.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from faker import Faker
from sqlalchemy.orm import Session
from tqdm import tqdm

from bot.dates import CHINA
from bot.identifiers import id_check_character, luhn_valid, reference_number
from bot.profile.db import session_factory, session_scope, upgrade
from bot.profile.models import (
    Account,
    AccountKind,
    AccountStatus,
    Advisor,
    Appointment,
    AppointmentStatus,
    Card,
    CardKind,
    CardStatus,
    Channel,
    ChannelBinding,
    Consent,
    ConsentKind,
    Customer,
    Gender,
    Holding,
    PlanStatus,
    Product,
    ProductKind,
    ProductRisk,
    RiskLevel,
    Role,
    Skill,
    Ticket,
    TicketCategory,
    TicketStatus,
    Tier,
    Transaction,
    TransactionChannel,
)

Choice = TypeVar("Choice")
HISTORY_DAYS = 183
DEBIT_PREFIX, DEBIT_LENGTH = "621799", 19
CREDIT_PREFIX, CREDIT_LENGTH = "529999", 16
ACCOUNT_PREFIX = "3108"


@dataclass(frozen=True)
class StaffMember:
    staff_no: str
    name: str
    role: Role
    skills: tuple[Skill, ...]
    hours: str  # local time, "09:00-17:30"; a night shift ends the next morning
    days: str  # ISO weekdays
    available: bool = True


A, V, S = Role.AGENT, Role.ADVISOR, Role.SUPERVISOR
CARDS, LOANS, WEALTH, TAX, COMPLAINTS, FRAUD = Skill
STAFF = (
    StaffMember("XH1001", "赵敏", A, (CARDS, COMPLAINTS), "08:00-16:00", "1234567"),
    StaffMember("XH1002", "钱磊", A, (CARDS, LOANS), "08:00-16:00", "12345"),
    StaffMember("XH1003", "孙丽", A, (CARDS, FRAUD), "12:00-20:00", "1234567"),
    StaffMember("XH1004", "周杰", A, (COMPLAINTS, LOANS), "12:00-20:00", "12345"),
    StaffMember("XH1005", "吴婷", A, (FRAUD, CARDS), "20:00-08:00", "1234567"),
    StaffMember("XH1006", "郑浩", A, (CARDS, COMPLAINTS), "09:00-17:00", "67"),
    StaffMember("XH1007", "冯雪", A, (LOANS, CARDS), "09:00-17:00", "12345"),
    StaffMember("XH2001", "李娜", V, (WEALTH, LOANS), "09:00-17:30", "12345"),
    StaffMember("XH2002", "陈刚", V, (WEALTH, TAX), "09:00-17:30", "12345"),
    StaffMember("XH2003", "杨帆", V, (WEALTH, LOANS), "09:00-17:30", "23456"),
    StaffMember("XH2004", "黄蕾", V, (WEALTH,), "09:00-17:30", "12345", available=False),
    StaffMember("XH2005", "林峰", V, (WEALTH, TAX), "09:00-18:00", "12345"),
    StaffMember("XH2006", "何静", V, (WEALTH, TAX, LOANS), "09:00-18:00", "12345"),
    StaffMember("XH3001", "马骏", S, (COMPLAINTS, FRAUD), "09:00-18:00", "12345"),
    StaffMember("XH3002", "高洁", S, (COMPLAINTS, CARDS, FRAUD), "09:00-18:00", "12345"),
)
PRIVATE_BANKERS = ("XH2005", "XH2006")
RELATIONSHIP_MANAGERS = ("XH2001", "XH2002", "XH2003", "XH2004")

K = ProductKind
R1, R2, R3, R4, R5 = ProductRisk
PRODUCTS = (
    ("970001", "星海货币A", K.MONEY_MARKET, R1, "T+0快速赎回，普通赎回T+1到账"),
    ("970002", "星海现金宝", K.MONEY_MARKET, R1, "T+0实时到账（单日限额1万元）"),
    ("970011", "星海稳健债券A", K.BOND, R2, "T+1确认，赎回T+2到账"),
    ("970012", "星海纯债增强", K.BOND, R2, "T+1确认，赎回T+3到账"),
    ("970013", "星海可转债精选", K.BOND, R3, "T+1确认，赎回T+3到账"),
    ("970021", "星海均衡配置混合", K.MIXED, R3, "T+1确认，赎回T+3到账"),
    ("970022", "星海成长优选混合", K.MIXED, R4, "T+1确认，赎回T+3到账"),
    ("970023", "星海价值精选混合", K.MIXED, R3, "T+1确认，赎回T+3到账"),
    ("970031", "星海沪深300指数A", K.INDEX, R4, "T+1确认，赎回T+2到账"),
    ("970032", "星海中证500指数A", K.INDEX, R4, "T+1确认，赎回T+2到账"),
    ("970033", "星海红利低波指数A", K.INDEX, R3, "T+1确认，赎回T+2到账"),
    ("970041", "星海科技创新股票", K.EQUITY, R5, "T+1确认，赎回T+3到账"),
    ("970042", "星海医药健康股票", K.EQUITY, R4, "T+1确认，赎回T+3到账"),
    ("970043", "星海新能源产业股票", K.EQUITY, R5, "T+1确认，赎回T+3到账"),
    ("970051", "星海全球精选(QDII)", K.QDII, R4, "T+2确认，赎回T+10到账"),
    ("970052", "星海纳斯达克100指数(QDII)", K.QDII, R5, "T+2确认，赎回T+7到账"),
    ("XHLC0001", "星海天天利", K.WEALTH, R1, "T+0申赎，赎回T+1到账"),
    ("XHLC0002", "星海季季盈（90天）", K.WEALTH, R2, "到期后T+1到账"),
    ("XHLC0003", "星海稳进年年盈（一年期）", K.WEALTH, R2, "到期后T+2到账"),
    ("XHLC0004", "星海增利混合类理财", K.WEALTH, R3, "每月开放一次，赎回T+2到账"),
)
PLAN_KINDS = frozenset({K.BOND, K.MIXED, K.INDEX, K.EQUITY, K.QDII})  # fixed-investment plans


@dataclass(frozen=True)
class DemoCard:
    kind: CardKind
    last4: str
    status: CardStatus = CardStatus.ACTIVE


@dataclass(frozen=True)
class DemoCustomer:
    """A customer with memorable data for demos and the README; everything else is generated."""

    customer_no: str
    name: str
    gender: Gender
    tier: Tier
    risk_level: RiskLevel
    advisor: str | None
    web_user: str
    openid: str | None
    cards: tuple[DemoCard, ...]
    holdings: tuple[tuple[str, PlanStatus | None], ...]  # product code, fixed-investment plan
    complaint: TicketCategory | None = None


def demo_phone(customer_no: str) -> str:
    """Demo customers' phones are memorable for verifying in the chat: C000001 → 13900000001."""
    return f"1390000{customer_no[-4:]}"


DEMO_CUSTOMERS = (
    DemoCustomer(
        "C000001",
        "张伟",
        Gender.MALE,
        Tier.VIP,
        RiskLevel.C3,
        "XH2001",
        "demo-web-1",
        "demo-openid-1",
        (DemoCard(CardKind.DEBIT, "1234"), DemoCard(CardKind.CREDIT, "5678")),
        (("970001", None), ("XHLC0002", None), ("970033", PlanStatus.ACTIVE), ("970021", PlanStatus.PAUSED)),
    ),
    DemoCustomer(
        "C000002",
        "王芳",
        Gender.FEMALE,
        Tier.PRIVATE,
        RiskLevel.C5,
        "XH2005",
        "demo-web-2",
        "demo-openid-2",
        (DemoCard(CardKind.DEBIT, "2468"), DemoCard(CardKind.CREDIT, "1357")),
        (
            ("970041", PlanStatus.ACTIVE),
            ("970052", None),
            ("XHLC0003", None),
            ("970012", None),
            ("970022", PlanStatus.PAUSED),
        ),
    ),
    DemoCustomer(
        "C000003",
        "刘洋",
        Gender.MALE,
        Tier.MASS,
        RiskLevel.C2,
        None,
        "demo-web-3",
        None,
        (DemoCard(CardKind.DEBIT, "4321", CardStatus.FROZEN), DemoCard(CardKind.DEBIT, "8765")),
        (("970001", None),),
    ),
    DemoCustomer(
        "C000004",
        "陈静",
        Gender.FEMALE,
        Tier.MASS,
        RiskLevel.C1,
        None,
        "demo-web-4",
        "demo-openid-4",
        (DemoCard(CardKind.DEBIT, "9999"),),
        (),
        complaint=TicketCategory.FEES,
    ),
)

TIER_SHARES = {Tier.PRIVATE: 0.05, Tier.VIP: 0.25}  # the rest are 大众
RISK_WEIGHTS = {
    Tier.MASS: (25, 30, 30, 10, 5),
    Tier.VIP: (10, 20, 35, 25, 10),
    Tier.PRIVATE: (5, 10, 30, 30, 25),
}


@dataclass(frozen=True)
class TierProfile:
    """How customers of a tier bank: amounts in whole CNY (USD for the USD account), shares 0..1."""

    salary: tuple[int, int]
    opening_balance: tuple[int, int]
    spending_scale: float  # stretches the upper end of purchases, transfers and bills
    purchases_per_day: float
    fixed_deposit_share: float
    fixed_deposit: tuple[int, int]
    usd_account_share: float
    usd_balance: tuple[int, int]
    credit_card_share: float
    credit_limit: tuple[int, int]
    transfer_limit: int
    holdings: tuple[int, int]  # how many products
    holding_amount: tuple[int, int]
    plan_amounts: tuple[int, ...]
    advisor_share: float


TIERS = {
    Tier.MASS: TierProfile(
        salary=(6000, 18000),
        opening_balance=(2000, 30000),
        spending_scale=1.0,
        purchases_per_day=0.6,
        fixed_deposit_share=0.3,
        fixed_deposit=(10000, 100000),
        usd_account_share=0.0,
        usd_balance=(0, 0),
        credit_card_share=0.3,
        credit_limit=(5000, 50000),
        transfer_limit=50000,
        holdings=(0, 2),
        holding_amount=(1000, 50000),
        plan_amounts=(300, 500, 1000),
        advisor_share=0.15,
    ),
    Tier.VIP: TierProfile(
        salary=(25000, 60000),
        opening_balance=(50000, 300000),
        spending_scale=1.6,
        purchases_per_day=0.8,
        fixed_deposit_share=0.7,
        fixed_deposit=(100000, 1000000),
        usd_account_share=0.2,
        usd_balance=(1000, 200000),
        credit_card_share=0.6,
        credit_limit=(50000, 150000),
        transfer_limit=200000,
        holdings=(1, 4),
        holding_amount=(20000, 500000),
        plan_amounts=(1000, 2000, 5000),
        advisor_share=1.0,
    ),
    Tier.PRIVATE: TierProfile(
        salary=(80000, 250000),
        opening_balance=(300000, 2000000),
        spending_scale=2.5,
        purchases_per_day=0.9,
        fixed_deposit_share=1.0,
        fixed_deposit=(1000000, 10000000),
        usd_account_share=0.6,
        usd_balance=(10000, 500000),
        credit_card_share=0.9,
        credit_limit=(200000, 1000000),
        transfer_limit=1000000,
        holdings=(3, 6),
        holding_amount=(200000, 3000000),
        plan_amounts=(5000, 10000, 20000),
        advisor_share=1.0,
    ),
}


@dataclass(frozen=True)
class City:
    area_code: str  # first 6 digits of ID numbers issued there
    branch: str
    power: str
    water: str
    gas: str


CITIES = (
    City("110105", "星海银行北京朝阳支行", "国网北京市电力公司", "北京市自来水集团", "北京燃气集团"),
    City("310104", "星海银行上海徐汇支行", "国网上海市电力公司", "上海城投水务集团", "上海燃气有限公司"),
    City("440305", "星海银行深圳南山支行", "深圳供电局", "深圳市水务集团", "深圳市燃气集团"),
    City("330106", "星海银行杭州西湖支行", "国网杭州供电公司", "杭州市水务集团", "杭州市燃气集团"),
    City("510107", "星海银行成都武侯支行", "国网成都供电公司", "成都市自来水有限责任公司", "成都燃气集团"),
    City("420106", "星海银行武汉武昌支行", "国网武汉供电公司", "武汉市水务集团", "武汉市燃气集团"),
    City("320106", "星海银行南京鼓楼支行", "国网南京供电公司", "南京水务集团", "南京港华燃气"),
    City("610113", "星海银行西安雁塔支行", "国网西安供电公司", "西安水务集团", "西安秦华天然气"),
)

Q, P = TransactionChannel.QUICK_PAY, TransactionChannel.POS
MERCHANTS = (  # counterparty, description, channel, amount range
    ("美团外卖", "外卖订单", Q, (18, 85)),
    ("美团", "到店团购", Q, (30, 300)),
    ("饿了么", "外卖订单", Q, (18, 80)),
    ("淘宝", "网购消费", Q, (20, 600)),
    ("天猫", "网购消费", Q, (50, 1200)),
    ("京东", "京东商城购物", Q, (40, 2500)),
    ("拼多多", "网购消费", Q, (9, 200)),
    ("滴滴出行", "打车", Q, (12, 95)),
    ("瑞幸咖啡", "餐饮消费", Q, (9, 35)),
    ("星巴克", "餐饮消费", P, (30, 70)),
    ("盒马鲜生", "超市购物", Q, (40, 350)),
    ("永辉超市", "超市购物", P, (30, 400)),
    ("中国石化加油站", "加油", P, (200, 450)),
    ("携程旅行网", "机票酒店", Q, (300, 3500)),
    ("中国铁路12306", "火车票", Q, (50, 800)),
    ("万达影城", "电影票", Q, (35, 120)),
    ("屈臣氏", "日用品", P, (30, 300)),
)
MERCHANT_WEIGHTS = (10, 4, 5, 8, 4, 6, 5, 6, 5, 3, 4, 4, 2, 1, 2, 1, 2)
MOBILE_OPERATORS = ("中国移动", "中国联通", "中国电信")
COMPLAINT_TEXTS = {
    TicketCategory.FEES: "账户被扣了一笔管理费，之前没收到任何通知",
    TicketCategory.SERVICE: "网点排队一个多小时，工作人员态度也不好",
    TicketCategory.CARD: "银行卡在ATM被吞了，到现在还没处理",
    TicketCategory.TRANSFER: "跨行转账三天了还没到账",
    TicketCategory.LOAN: "提前还款的违约金和当初说的不一样",
    TicketCategory.WEALTH: "买理财的时候没有提示风险，现在亏损了",
    TicketCategory.FRAUD: "接到冒充客服的电话，担心信息泄露",
    TicketCategory.OTHER: "手机银行登录后经常闪退",
}
CONSENT_SHARES = {ConsentKind.MARKETING: 0.45, ConsentKind.PERSONALISATION: 0.6, ConsentKind.THIRD_PARTY: 0.1}
OPENID_CHARACTERS = string.ascii_letters + string.digits + "-_"


@dataclass(frozen=True)
class SeedReport:
    customers: int
    accounts: int
    cards: int
    holdings: int
    transactions: int


@dataclass(frozen=True)
class Household:
    """A customer's regular money: the same employer, housing and bills every month."""

    employer: str
    salary: Decimal
    housing: tuple[str, str, TransactionChannel, Decimal]  # counterparty, description, channel, amount
    city: City
    operator: str
    credit_card: bool
    scale: float


@dataclass(frozen=True)
class Event:
    """One statement line before it meets the balance (a purchase the balance cannot cover is dropped)."""

    at: dt.datetime
    amount: Decimal
    counterparty: str
    channel: TransactionChannel
    description: str


def seed_demo_bank(
    url: str, customers: int = 240, seed: int = 7, today: dt.date | None = None, progress: bool = False
) -> SeedReport | None:
    """Migrate and fill the database at ``url``; None, changing nothing, when it already has customers.

    One transaction: an interrupted seed leaves an empty database that the next run fills.
    """
    if customers < len(DEMO_CUSTOMERS):
        raise ValueError(f"the demo bank needs at least {len(DEMO_CUSTOMERS)} customers, got {customers}")
    upgrade(url)
    sessions = session_factory(url)
    try:
        with session_scope(sessions) as session:
            if session.scalar(sa.select(sa.func.count()).select_from(Customer)):
                return None
            bank = DemoBank(session, seed, today or dt.datetime.now(CHINA).date())
            bank.open_bank()
            plan = bank.customer_plan(customers)
            for customer_no, tier in tqdm(plan, desc="customers", total=customers, disable=not progress):
                bank.add_customer(customer_no, tier)
            return SeedReport(**bank.counts)
    finally:
        sessions.kw["bind"].dispose()


class DemoBank:
    """Generates the bank into ``session``; all randomness comes from one seeded generator and Faker."""

    def __init__(self, session: Session, seed: int, today: dt.date) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.today = today
        self.start = today - dt.timedelta(days=HISTORY_DAYS)
        self.issued: set[str] = set()  # numbers and references, unique bank-wide
        self.staff: dict[str, Advisor] = {}
        self.products: dict[str, Product] = {}
        self.counts = dict.fromkeys(("customers", "accounts", "cards", "holdings", "transactions"), 0)

    def open_bank(self) -> None:
        for member in STAFF:
            start, end = (dt.time.fromisoformat(t) for t in member.hours.split("-"))
            advisor = Advisor(
                staff_no=member.staff_no,
                name=member.name,
                role=member.role,
                shift_start=start,
                shift_end=end,
                working_days=member.days,
                available=member.available,
            )
            advisor.skills.update(member.skills)
            self.staff[member.staff_no] = advisor
        for code, name, kind, risk, settlement in PRODUCTS:
            self.products[code] = Product(code=code, name=name, kind=kind, risk=risk, settlement=settlement)
        self.session.add_all([*self.staff.values(), *self.products.values()])

    def customer_plan(self, total: int) -> Iterator[tuple[str, Tier]]:
        """Customer numbers with tiers in the target shares; the demo customers come first."""
        quotas = {tier: round(total * share) for tier, share in TIER_SHARES.items()}
        quotas[Tier.PRIVATE] = max(1, quotas[Tier.PRIVATE])
        quotas[Tier.MASS] = total - sum(quotas.values())
        for demo in DEMO_CUSTOMERS:
            quotas[demo.tier] -= 1
        tiers = [tier for tier, count in quotas.items() for _ in range(max(0, count))]
        self.rng.shuffle(tiers)
        tiers = [demo.tier for demo in DEMO_CUSTOMERS] + tiers
        for index, tier in enumerate(tiers[:total], start=1):
            yield f"C{index:06d}", tier

    def add_customer(self, customer_no: str, tier: Tier) -> None:
        demo = next((d for d in DEMO_CUSTOMERS if d.customer_no == customer_no), None)
        profile = TIERS[tier]
        city = self.rng.choice(CITIES)
        customer = self.person(customer_no, tier, city, demo)
        account = self.add_account(customer, AccountKind.CURRENT, "CNY", Decimal(0))
        self.add_savings(customer, profile)
        self.add_cards(customer, account, profile, demo)
        plans = self.add_holdings(customer, profile, demo)
        self.add_consents(customer)
        self.add_service_records(customer, city, demo)
        self.add_bindings(customer, demo)
        self.session.add(customer)
        self.session.flush()  # ids for the transaction rows
        opening = Decimal(self.rng.randint(*profile.opening_balance))
        self.record_history(account, opening, self.history(customer, city, profile, plans))
        self.counts["customers"] += 1

    # -- people ---------------------------------------------------------------------------------

    def person(self, customer_no: str, tier: Tier, city: City, demo: DemoCustomer | None) -> Customer:
        gender = demo.gender if demo else self.rng.choice(list(Gender))
        if demo:
            surname, name = demo.name[0], demo.name
        else:
            surname = self.fake.last_name()
            name = surname + (
                self.fake.first_name_male() if gender is Gender.MALE else self.fake.first_name_female()
            )
        birth = self.today - dt.timedelta(days=self.rng.randint(22 * 365, 75 * 365))
        advisor = demo.advisor if demo else self.pick_advisor(tier)
        return Customer(
            customer_no=customer_no,
            name=name,
            surname=surname,
            gender=gender,
            id_number=self.unique(lambda: self.id_number(city, birth, gender)),
            phone=self.unique(lambda: demo_phone(customer_no) if demo else self.fake.phone_number()),
            email=f"{self.fake.user_name()}{self.rng.randint(1, 999)}@{self.fake.free_email_domain()}",
            tier=tier,
            risk_level=demo.risk_level if demo else self.weighted(list(RiskLevel), RISK_WEIGHTS[tier]),
            advisor=self.staff[advisor] if advisor else None,
            created_at=self.moment(self.today - dt.timedelta(days=self.rng.randint(200, 15 * 365)), 9, 17),
        )

    def pick_advisor(self, tier: Tier) -> str | None:
        if tier is Tier.PRIVATE:
            return self.rng.choice(PRIVATE_BANKERS)
        return (
            self.rng.choice(RELATIONSHIP_MANAGERS) if self.rng.random() < TIERS[tier].advisor_share else None
        )

    def id_number(self, city: City, birth: dt.date, gender: Gender) -> str:
        """GB 11643: area, birth date, sequence number (odd for men), check character."""
        sequence = self.rng.randrange(1 if gender is Gender.MALE else 0, 1000, 2)
        first_17 = f"{city.area_code}{birth:%Y%m%d}{sequence:03d}"
        return first_17 + id_check_character(first_17)

    # -- accounts and cards ---------------------------------------------------------------------

    def add_account(
        self,
        customer: Customer,
        kind: AccountKind,
        currency: str,
        balance: Decimal,
        status: AccountStatus = AccountStatus.ACTIVE,
    ) -> Account:
        account = Account(
            number=self.unique(lambda: ACCOUNT_PREFIX + self.digits(15)),
            kind=kind,
            currency=currency,
            balance=balance,
            status=status,
            opened_at=customer.created_at,
        )
        customer.accounts.append(account)
        self.counts["accounts"] += 1
        return account

    def add_savings(self, customer: Customer, profile: TierProfile) -> None:
        """A fixed deposit (定期) and a US-dollar account for some customers; no statement lines."""
        if self.rng.random() < profile.fixed_deposit_share:
            deposit = Decimal(self.rng.randint(*profile.fixed_deposit) // 1000 * 1000)
            self.add_account(customer, AccountKind.FIXED, "CNY", deposit)
        if self.rng.random() < profile.usd_account_share:
            status = AccountStatus.DORMANT if self.rng.random() < 0.1 else AccountStatus.ACTIVE
            self.add_account(customer, AccountKind.CURRENT, "USD", self.cents(*profile.usd_balance), status)

    def add_cards(
        self, customer: Customer, account: Account, profile: TierProfile, demo: DemoCustomer | None
    ) -> None:
        """Debit cards on the main account, maybe a credit card; last four digits differ per customer."""
        if demo:
            specs = list(demo.cards)
        else:
            specs = [DemoCard(CardKind.DEBIT, "", self.card_status())]
            if self.rng.random() < 0.15:
                specs.append(DemoCard(CardKind.DEBIT, "", self.card_status()))
            if self.rng.random() < profile.credit_card_share:
                specs.append(DemoCard(CardKind.CREDIT, "", self.card_status()))
        tails: set[str] = set()
        for spec in specs:
            number = ""
            while not number or number[-4:] in tails:  # customers name their card by its last four digits
                number = self.unique(lambda spec=spec: self.card_number(spec.kind, spec.last4))
            tails.add(number[-4:])
            customer.cards.append(self.card(spec, number, account, profile))
            self.counts["cards"] += 1

    def card(self, spec: DemoCard, number: str, account: Account, profile: TierProfile) -> Card:
        credit = spec.kind is CardKind.CREDIT
        changed = None if spec.status is CardStatus.ACTIVE else self.moment(self.day_in_history(), 8, 22)
        return Card(
            number=number,
            account=None if credit else account,
            kind=spec.kind,
            status=spec.status,
            credit_limit=Decimal(self.rng.randint(*profile.credit_limit) // 1000 * 1000) if credit else None,
            daily_transfer_limit=Decimal(5000 if credit else profile.transfer_limit),
            status_changed_at=changed,
        )

    def card_status(self) -> CardStatus:
        return self.weighted([CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.LOST], (94, 4, 2))

    def card_number(self, kind: CardKind, ending: str) -> str:
        """Our prefix, random digits, the wanted ending; the one digit before the ending makes Luhn pass."""
        prefix, length = (
            (CREDIT_PREFIX, CREDIT_LENGTH) if kind is CardKind.CREDIT else (DEBIT_PREFIX, DEBIT_LENGTH)
        )
        body = prefix + self.digits(length - len(prefix) - len(ending) - 1)
        return next(number for number in (f"{body}{d}{ending}" for d in range(10)) if luhn_valid(number))

    # -- wealth ---------------------------------------------------------------------------------

    def add_holdings(
        self, customer: Customer, profile: TierProfile, demo: DemoCustomer | None
    ) -> list[Holding]:
        """Products suited to the customer's risk level; returns the holdings whose plan debits monthly."""
        if demo:
            chosen = [(self.products[code], plan) for code, plan in demo.holdings]
        else:
            suitable = [p for p in self.products.values() if customer.risk_level.allows(p.risk)]
            low, high = profile.holdings
            count = min(len(suitable), self.rng.randint(low, high))
            chosen = [(p, self.plan_status(p)) for p in self.rng.sample(suitable, count)]
        for product, plan in chosen:
            amount = self.cents(*profile.holding_amount)
            holding = Holding(product=product, amount=amount, units=self.units(amount))
            if plan is not None:
                holding.plan_amount = Decimal(self.rng.choice(profile.plan_amounts))
                holding.plan_day = self.rng.randint(1, 28)
                holding.plan_status = plan
            customer.holdings.append(holding)
            self.counts["holdings"] += 1
        return [h for h in customer.holdings if h.plan_status is PlanStatus.ACTIVE]

    def plan_status(self, product: Product) -> PlanStatus | None:
        if product.kind not in PLAN_KINDS or self.rng.random() > 0.35:
            return None
        return PlanStatus.ACTIVE if self.rng.random() < 0.8 else PlanStatus.PAUSED

    def units(self, amount: Decimal) -> Decimal:
        net_asset_value = Decimal(self.rng.randint(8000, 30000)).scaleb(-4)
        return (amount / net_asset_value).quantize(Decimal("0.01"))

    # -- service records ------------------------------------------------------------------------

    def add_consents(self, customer: Customer) -> None:
        for kind, share in CONSENT_SHARES.items():
            at = customer.created_at + dt.timedelta(days=self.rng.randint(0, 30))
            self.session.add(
                Consent(customer=customer, kind=kind, granted=self.rng.random() < share, recorded_at=at)
            )

    def add_service_records(self, customer: Customer, city: City, demo: DemoCustomer | None) -> None:
        """Complaints from some customers (a recent open one for a demo), appointments with advisors."""
        if demo and demo.complaint:
            self.add_ticket(customer, demo.complaint, age_days=1)
        elif not demo and self.rng.random() < 0.08:
            self.add_ticket(
                customer, self.rng.choice(list(TicketCategory)), self.rng.randint(1, HISTORY_DAYS - 1)
            )
        if customer.advisor is not None and (demo or self.rng.random() < 0.15):
            days = self.rng.randint(1, 14) if demo or self.rng.random() < 0.5 else -self.rng.randint(1, 90)
            self.add_appointment(customer, city, self.today + dt.timedelta(days=days))

    def add_ticket(self, customer: Customer, category: TicketCategory, age_days: int) -> None:
        at = self.moment(self.today - dt.timedelta(days=age_days), 8, 22)
        reference = self.unique(lambda: reference_number("TS", at.date(), self.rng.randrange(10**8)))
        ticket = Ticket.opened(reference, customer, category, COMPLAINT_TEXTS[category], at)
        if age_days > 2:  # older complaints have been handled
            ticket.status = self.weighted([TicketStatus.RESOLVED, TicketStatus.CLOSED], (3, 1))
            ticket.advisor = self.rng.choice([a for a in self.staff.values() if Skill.COMPLAINTS in a.skills])
        self.session.add(ticket)

    def add_appointment(self, customer: Customer, city: City, day: dt.date) -> None:
        upcoming = day >= self.today
        if upcoming:
            status = AppointmentStatus.BOOKED
        else:
            status = self.weighted([AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED], (4, 1))
        starts = dt.datetime.combine(day, dt.time(self.rng.choice((10, 14, 15)), 30), CHINA)
        booked = starts - dt.timedelta(days=self.rng.randint(1, 10))
        self.session.add(
            Appointment(
                reference=self.unique(lambda: reference_number("YY", day, self.rng.randrange(10**8))),
                customer=customer,
                advisor=customer.advisor,
                topic=self.rng.choice(sorted(customer.advisor.skills)),
                branch=city.branch,
                starts_at=starts,
                status=status,
                created_at=min(booked, self.moment(self.today - dt.timedelta(days=1), 8, 22)),
            )
        )

    def add_bindings(self, customer: Customer, demo: DemoCustomer | None) -> None:
        """The demo customers' web and WeChat ids; a few other customers use one channel or both."""
        if demo:
            bound = [(Channel.WEB, demo.web_user), (Channel.WECHAT, demo.openid)]
        else:
            bound = []
            if self.rng.random() < 0.1:
                bound.append((Channel.WEB, self.unique(lambda: "web-" + self.digits(12))))
            if self.rng.random() < 0.08:
                bound.append((Channel.WECHAT, self.unique(lambda: "o" + self.token(OPENID_CHARACTERS, 27))))
        for channel, external_id in bound:
            if external_id is None:
                continue
            at = self.moment(self.day_in_history(), 8, 22)
            verified = at if demo or self.rng.random() < 0.8 else None
            self.session.add(
                ChannelBinding(
                    channel=channel,
                    external_id=external_id,
                    customer=customer,
                    verified_at=verified,
                    created_at=at,
                )
            )

    # -- statements -----------------------------------------------------------------------------

    def history(
        self, customer: Customer, city: City, profile: TierProfile, plans: list[Holding]
    ) -> list[Event]:
        """Six months of a main account: monthly income and bills, then day-to-day spending."""
        household = self.household(customer, city, profile)
        events = [event for month in self.months() for event in self.monthly(household, plans, month)]
        day = self.start
        while day < self.today:
            events += [
                self.purchase(day, profile)
                for _ in range(3)
                if self.rng.random() < profile.purchases_per_day / 3
            ]
            day += dt.timedelta(days=1)
        in_window = (e for e in events if self.start <= e.at.astimezone(CHINA).date() < self.today)
        return sorted(in_window, key=lambda e: e.at)

    def household(self, customer: Customer, city: City, profile: TierProfile) -> Household:
        """What stays the same every month: employer and salary, housing, utilities, phone operator."""
        if customer.tier is Tier.MASS:  # renting from a landlord
            rent = Decimal(self.rng.randint(15, 60) * 100)
            housing = (self.fake.name(), "房租", TransactionChannel.MOBILE_BANKING, rent)
        else:
            instalment = self.cents(4000, int(6000 * profile.spending_scale))
            housing = ("星海银行个人住房贷款", "房贷还款", TransactionChannel.AUTO_DEBIT, instalment)
        return Household(
            employer=self.fake.company(),
            salary=Decimal(self.rng.randint(*profile.salary)),
            housing=housing,
            city=city,
            operator=self.rng.choice(MOBILE_OPERATORS),
            credit_card=any(card.kind is CardKind.CREDIT for card in customer.cards),
            scale=profile.spending_scale,
        )

    def monthly(self, home: Household, plans: list[Holding], month: dt.date) -> list[Event]:
        return [*self.fixed_days(home, plans, month), *self.occasional(home, month)]

    def fixed_days(self, home: Household, plans: list[Holding], month: dt.date) -> list[Event]:
        """Salary in, and what is debited on the same day every month."""
        auto = TransactionChannel.AUTO_DEBIT
        salary = (home.salary * Decimal(self.rng.randint(95, 105)).scaleb(-2)).quantize(Decimal("0.01"))
        payee, purpose, channel, rent = home.housing
        events = [
            self.event(month, 10, salary, home.employer, TransactionChannel.PAYROLL, "工资", (9, 11)),
            self.event(month, 3, -rent, payee, channel, purpose),
            self.event(month, 5, -self.cents(60, 400), home.city.power, auto, "电费"),
            self.event(month, 12, -self.cents(20, 120), home.city.water, auto, "水费"),
            self.event(month, 16, -self.cents(30, 250), home.city.gas, auto, "燃气费"),
            self.event(
                month, 8, -self.cents(30, 200), home.operator, TransactionChannel.MOBILE_BANKING, "手机话费"
            ),
        ]
        for h in plans:
            events.append(
                self.event(
                    month, h.plan_day, -h.plan_amount, "星海银行基金代销", auto, f"基金定投 {h.product.name}"
                )
            )
        if home.credit_card:
            repayment = -self.cents(500, int(8000 * home.scale))
            events.append(self.event(month, 20, repayment, "星海银行信用卡中心", auto, "信用卡自动还款"))
        return events

    def occasional(self, home: Household, month: dt.date) -> list[Event]:
        """Transfers to and from people, WeChat withdrawals and cash, on random days."""
        mobile = TransactionChannel.MOBILE_BANKING
        moves = [
            (-self.cents(100, int(5000 * home.scale)), self.fake.name(), mobile, "手机银行转账")
            for _ in range(self.rng.randint(0, 3))
        ]
        moves += [
            (self.cents(200, int(3000 * home.scale)), self.fake.name(), mobile, "跨行转入")
            for _ in range(self.rng.randint(0, 2))
        ]
        if self.rng.random() < 0.3:
            moves.append((self.cents(100, 2000), "财付通支付科技有限公司", Q, "微信零钱提现"))
        if self.rng.random() < 0.25:
            cash = -Decimal(self.rng.choice((500, 1000, 2000)))
            moves.append((cash, "星海银行ATM", TransactionChannel.ATM, "ATM取款"))
        return [self.event(month, self.rng.randint(1, 28), *move) for move in moves]

    def purchase(self, day: dt.date, profile: TierProfile) -> Event:
        counterparty, description, channel, (low, high) = self.rng.choices(MERCHANTS, MERCHANT_WEIGHTS)[0]
        amount = -self.cents(low, int(high * profile.spending_scale))
        return Event(self.moment(day, 7, 23), amount, counterparty, channel, description)

    def record_history(self, account: Account, opening: Decimal, events: list[Event]) -> None:
        """Apply the events in order from the opening balance, dropping what it cannot cover."""
        balance, rows = opening, []
        for e in events:
            if balance + e.amount < 0:
                continue
            balance += e.amount
            rows.append(
                {
                    "account_id": account.id,
                    "occurred_at": e.at,
                    "amount": e.amount,
                    "counterparty": e.counterparty,
                    "channel": e.channel,
                    "description": e.description,
                }
            )
        account.balance = balance
        if rows:
            self.session.execute(sa.insert(Transaction), rows)
        self.counts["transactions"] += len(rows)

    # -- randomness -----------------------------------------------------------------------------

    def event(
        self,
        month: dt.date,
        day: int,
        amount: Decimal,
        counterparty: str,
        channel: TransactionChannel,
        description: str,
        hours: tuple[int, int] = (8, 22),
    ) -> Event:
        return Event(self.moment(month.replace(day=day), *hours), amount, counterparty, channel, description)

    def months(self) -> Iterator[dt.date]:
        month = self.start.replace(day=1)
        while month <= self.today:
            yield month
            month = (month + dt.timedelta(days=32)).replace(day=1)

    def moment(self, day: dt.date, first_hour: int, last_hour: int) -> dt.datetime:
        """A random time of ``day`` between the hours, China time, stored as UTC."""
        seconds = self.rng.randrange(first_hour * 3600, last_hour * 3600)
        local = dt.datetime.combine(day, dt.time(), CHINA) + dt.timedelta(seconds=seconds)
        return local.astimezone(dt.timezone.utc)

    def day_in_history(self) -> dt.date:
        return self.start + dt.timedelta(days=self.rng.randrange(HISTORY_DAYS))

    def cents(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low * 100, high * 100)).scaleb(-2)

    def digits(self, count: int) -> str:
        return f"{self.rng.randrange(10**count):0{count}d}"

    def token(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def weighted(self, options: list[Choice], weights: tuple[int, ...]) -> Choice:
        return self.rng.choices(options, weights)[0]

    def unique(self, make: Callable[[], str]) -> str:
        """A freshly made number or reference that the bank has not issued before."""
        value = make()
        while value in self.issued:
            value = make()
        self.issued.add(value)
        return value
