"""The customer profile schema: who the customers are, what they hold, who serves them, who looked.

Only ``bot.profile.service`` (and the seed command) use these classes; everything else gets the
service's masked, frozen views. Codes are stored in English (``vip``), with the Chinese label
customers see on the enum (``Tier.VIP.label == "贵宾"``). Money is ``Decimal`` and times are
timezone-aware UTC on every database, SQLite included.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.associationproxy import association_proxy
from sqlalchemy.orm import declarative_base, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base: Any = declarative_base(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; SQLite would otherwise drop the zone silently."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.engine.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: profile times must carry a time zone")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: sa.engine.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return (
            value.replace(tzinfo=dt.timezone.utc)
            if value.tzinfo is None
            else value.astimezone(dt.timezone.utc)
        )


class FixedPoint(sa.types.TypeDecorator):
    """NUMERIC(precision, scale) read back as an exact ``Decimal`` of that scale on every database.

    SQLite keeps NUMERIC values as doubles; reading them as floats and rounding to the declared scale
    is exact for the amounts a bank holds (under 15 significant digits) and avoids SQLAlchemy's
    "Decimal objects natively" warning on every query.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale)
        self.quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine:
        native = dialect.name != "sqlite"
        return dialect.type_descriptor(sa.Numeric(self.impl.precision, self.impl.scale, asdecimal=native))

    def process_result_value(
        self, value: Decimal | float | None, dialect: sa.engine.Dialect
    ) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(self.quantum)


def money() -> FixedPoint:
    return FixedPoint(18, 2)


class Coded(str, enum.Enum):
    """A code stored in the database (the value), with the Chinese ``label`` customers see."""

    label: str

    def __new__(cls, code: str, label: str) -> Coded:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member


class Tier(Coded):
    MASS = "mass", "大众"
    VIP = "vip", "贵宾"
    PRIVATE = "private", "私人银行"


class ProductRisk(Coded):
    R1 = "R1", "低风险"
    R2 = "R2", "中低风险"
    R3 = "R3", "中风险"
    R4 = "R4", "中高风险"
    R5 = "R5", "高风险"


class RiskLevel(Coded):
    """A customer's assessed risk tolerance; products up to the same number suit them (C3 → R1–R3)."""

    C1 = "C1", "保守型"
    C2 = "C2", "稳健型"
    C3 = "C3", "平衡型"
    C4 = "C4", "成长型"
    C5 = "C5", "进取型"

    def allows(self, risk: ProductRisk) -> bool:
        return risk.value[1] <= self.value[1]


class Gender(Coded):
    """The label is how the customer is addressed: 张先生, 王女士."""

    MALE = "male", "先生"
    FEMALE = "female", "女士"


class AccountKind(Coded):
    CURRENT = "current", "活期"
    FIXED = "fixed", "定期"


class AccountStatus(Coded):
    ACTIVE = "active", "正常"
    DORMANT = "dormant", "睡眠户"
    CLOSED = "closed", "已销户"


class CardKind(Coded):
    DEBIT = "debit", "借记卡"
    CREDIT = "credit", "信用卡"


class CardStatus(Coded):
    ACTIVE = "active", "正常"
    FROZEN = "frozen", "已冻结"
    LOST = "lost", "已挂失"


class ProductKind(Coded):
    MONEY_MARKET = "money_market", "货币基金"
    BOND = "bond", "债券基金"
    MIXED = "mixed", "混合基金"
    EQUITY = "equity", "股票基金"
    INDEX = "index", "指数基金"
    QDII = "qdii", "QDII基金"
    WEALTH = "wealth", "银行理财"


class PlanStatus(Coded):
    ACTIVE = "active", "正常扣款"
    PAUSED = "paused", "已暂停"


class TransactionChannel(Coded):
    MOBILE_BANKING = "mobile_banking", "手机银行"
    QUICK_PAY = "quick_pay", "快捷支付"
    POS = "pos", "POS消费"
    ATM = "atm", "ATM"
    COUNTER = "counter", "柜面"
    PAYROLL = "payroll", "代发工资"
    AUTO_DEBIT = "auto_debit", "自动扣款"


class Role(Coded):
    """Who is asking: the assistant itself or a member of staff."""

    BOT = "bot", "智能助手"
    AGENT = "agent", "客服坐席"
    ADVISOR = "advisor", "客户经理"
    SUPERVISOR = "supervisor", "主管"


class Skill(Coded):
    """What a member of staff can be routed for."""

    CARDS = "cards", "银行卡"
    LOANS = "loans", "贷款"
    WEALTH = "wealth", "理财"
    TAX_CROSS_BORDER = "tax_cross_border", "税务与跨境"
    COMPLAINTS = "complaints", "投诉"
    FRAUD = "fraud", "反欺诈"


class AppointmentStatus(Coded):
    BOOKED = "booked", "已预约"
    CANCELLED = "cancelled", "已取消"
    COMPLETED = "completed", "已完成"


class TicketCategory(Coded):
    FEES = "fees", "收费争议"
    SERVICE = "service", "服务质量"
    CARD = "card", "银行卡"
    TRANSFER = "transfer", "转账汇款"
    LOAN = "loan", "贷款"
    WEALTH = "wealth", "理财销售"
    FRAUD = "fraud", "疑似诈骗"
    OTHER = "other", "其他"


class TicketStatus(Coded):
    OPEN = "open", "待处理"
    IN_PROGRESS = "in_progress", "处理中"
    RESOLVED = "resolved", "已解决"
    CLOSED = "closed", "已关闭"


class ConsentKind(Coded):
    MARKETING = "marketing", "营销信息推送"
    PERSONALISATION = "personalisation", "个性化推荐"
    THIRD_PARTY = "third_party", "向合作机构提供信息"


class Channel(Coded):
    WEB = "web", "网页"
    WECHAT = "wechat", "微信"


class AuditAction(Coded):
    READ = "read", "查询"
    WRITE = "write", "办理"


class AuditOutcome(Coded):
    OK = "ok", "成功"
    DENIED = "denied", "无权限"
    NOT_FOUND = "not_found", "未找到"
    REJECTED = "rejected", "不予办理"
    FAILED = "failed", "失败"


def coded(enum_class: type[Coded], name: str) -> sa.Enum:
    """A column type storing the codes (not the member names) as a string with a CHECK constraint."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda members: [m.value for m in members],
    )


def customer_fk() -> sa.Column:
    return sa.Column(sa.Integer, sa.ForeignKey("customers.id"), nullable=False, index=True)


class Advisor(Base):
    """A member of staff: phone/chat agent, relationship manager (客户经理) or supervisor."""

    __tablename__ = "advisors"
    __table_args__ = (sa.CheckConstraint("role != 'bot'", name="staff_role"),)

    id = sa.Column(sa.Integer, primary_key=True)
    staff_no = sa.Column(sa.String(16), nullable=False, unique=True)
    name = sa.Column(sa.String(32), nullable=False)
    role = sa.Column(coded(Role, "role"), nullable=False)
    shift_start = sa.Column(sa.Time, nullable=False)
    shift_end = sa.Column(sa.Time, nullable=False)
    working_days = sa.Column(sa.String(7), nullable=False)  # ISO weekdays, "12345" = Monday to Friday
    available = sa.Column(sa.Boolean, nullable=False, default=True)  # False while on leave

    skill_rows = relationship("AdvisorSkill", collection_class=set, cascade="all, delete-orphan")
    skills = association_proxy("skill_rows", "skill", creator=lambda skill: AdvisorSkill(skill=skill))


class AdvisorSkill(Base):
    __tablename__ = "advisor_skills"

    advisor_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id", ondelete="CASCADE"), primary_key=True)
    skill = sa.Column(coded(Skill, "skill"), primary_key=True)


class Customer(Base):
    __tablename__ = "customers"

    id = sa.Column(sa.Integer, primary_key=True)
    customer_no = sa.Column(sa.String(16), nullable=False, unique=True)  # "C000123"
    name = sa.Column(sa.String(32), nullable=False)
    surname = sa.Column(sa.String(8), nullable=False)
    gender = sa.Column(coded(Gender, "gender"), nullable=False)
    id_number = sa.Column(sa.String(18), nullable=False, unique=True)
    phone = sa.Column(sa.String(20), nullable=False)
    email = sa.Column(sa.String(120))
    tier = sa.Column(coded(Tier, "tier"), nullable=False)
    risk_level = sa.Column(coded(RiskLevel, "risk_level"), nullable=False)
    advisor_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id", ondelete="SET NULL"), index=True)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utc_now)

    advisor = relationship(Advisor)
    accounts = relationship("Account", back_populates="customer", order_by="Account.id")
    cards = relationship("Card", back_populates="customer", order_by="Card.id")
    holdings = relationship("Holding", back_populates="customer", order_by="Holding.id")

    @property
    def title(self) -> str:
        return self.gender.label


class Account(Base):
    __tablename__ = "accounts"

    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.String(19), nullable=False, unique=True)
    customer_id = customer_fk()
    kind = sa.Column(coded(AccountKind, "account_kind"), nullable=False)
    currency = sa.Column(sa.String(3), nullable=False, default="CNY")
    balance = sa.Column(money(), nullable=False)
    status = sa.Column(coded(AccountStatus, "account_status"), nullable=False)
    opened_at = sa.Column(UtcDateTime, nullable=False)

    customer = relationship(Customer, back_populates="accounts")


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'credit') = (credit_limit IS NOT NULL)", name="credit_limit_iff_credit"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.String(19), nullable=False, unique=True)
    customer_id = customer_fk()
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id"))  # debit cards draw on this account
    kind = sa.Column(coded(CardKind, "card_kind"), nullable=False)
    status = sa.Column(coded(CardStatus, "card_status"), nullable=False)
    credit_limit = sa.Column(money())
    daily_transfer_limit = sa.Column(money(), nullable=False)
    status_changed_at = sa.Column(UtcDateTime)

    customer = relationship(Customer, back_populates="cards")
    account = relationship(Account)


class Product(Base):
    """A fund or bank wealth product the bank sells."""

    __tablename__ = "products"

    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(16), nullable=False, unique=True)
    name = sa.Column(sa.String(64), nullable=False)
    kind = sa.Column(coded(ProductKind, "product_kind"), nullable=False)
    risk = sa.Column(coded(ProductRisk, "product_risk"), nullable=False)
    settlement = sa.Column(sa.String(64), nullable=False)  # "T+1确认，T+2到账"


class Holding(Base):
    """Units of one product held by one customer, with the fixed-investment plan (定投) if any."""

    __tablename__ = "holdings"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "product_id"),
        sa.CheckConstraint("plan_day BETWEEN 1 AND 28", name="plan_day"),
        sa.CheckConstraint(
            "(plan_amount IS NULL) = (plan_day IS NULL) AND (plan_day IS NULL) = (plan_status IS NULL)",
            name="plan_complete",
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    customer_id = customer_fk()
    product_id = sa.Column(sa.Integer, sa.ForeignKey("products.id"), nullable=False)
    units = sa.Column(money(), nullable=False)
    amount = sa.Column(money(), nullable=False)  # market value in CNY
    plan_amount = sa.Column(money())
    plan_day = sa.Column(sa.SmallInteger)  # day of the month the plan debits
    plan_status = sa.Column(coded(PlanStatus, "plan_status"))

    customer = relationship(Customer, back_populates="holdings")
    product = relationship(Product)


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (sa.Index("ix_transactions_account_time", "account_id", "occurred_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    account_id = sa.Column(sa.Integer, sa.ForeignKey("accounts.id"), nullable=False)
    occurred_at = sa.Column(UtcDateTime, nullable=False)
    amount = sa.Column(money(), nullable=False)  # negative: money out
    counterparty = sa.Column(sa.String(64), nullable=False)
    channel = sa.Column(coded(TransactionChannel, "transaction_channel"), nullable=False)
    description = sa.Column(sa.String(64), nullable=False)

    account = relationship(Account)


class Appointment(Base):
    __tablename__ = "appointments"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(24), nullable=False, unique=True)
    customer_id = customer_fk()
    advisor_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id"))
    topic = sa.Column(coded(Skill, "skill"), nullable=False)
    branch = sa.Column(sa.String(64), nullable=False)
    starts_at = sa.Column(UtcDateTime, nullable=False)
    status = sa.Column(coded(AppointmentStatus, "appointment_status"), nullable=False)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utc_now)

    customer = relationship(Customer)
    advisor = relationship(Advisor)


RESPONSE_TIME = dt.timedelta(hours=1)
RESOLUTION_TIME = dt.timedelta(hours=24)


class Ticket(Base):
    """A complaint; the bank promises a first response within an hour and a resolution within a day."""

    __tablename__ = "tickets"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(24), nullable=False, unique=True)
    customer_id = customer_fk()
    category = sa.Column(coded(TicketCategory, "ticket_category"), nullable=False)
    status = sa.Column(coded(TicketStatus, "ticket_status"), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    advisor_id = sa.Column(sa.Integer, sa.ForeignKey("advisors.id"))  # who handles it
    created_at = sa.Column(UtcDateTime, nullable=False)
    respond_by = sa.Column(UtcDateTime, nullable=False)
    resolve_by = sa.Column(UtcDateTime, nullable=False)

    customer = relationship(Customer)
    advisor = relationship(Advisor)

    @classmethod
    def opened(
        cls, reference: str, customer: Customer, category: TicketCategory, description: str, at: dt.datetime
    ) -> Ticket:
        """A new ticket with the deadlines the bank promises."""
        return cls(
            reference=reference,
            customer=customer,
            category=category,
            status=TicketStatus.OPEN,
            description=description,
            created_at=at,
            respond_by=at + RESPONSE_TIME,
            resolve_by=at + RESOLUTION_TIME,
        )


class Consent(Base):
    """The customer's current answer to one consent question (granted or refused, and when)."""

    __tablename__ = "consents"
    __table_args__ = (sa.UniqueConstraint("customer_id", "kind"),)

    id = sa.Column(sa.Integer, primary_key=True)
    customer_id = customer_fk()
    kind = sa.Column(coded(ConsentKind, "consent_kind"), nullable=False)
    granted = sa.Column(sa.Boolean, nullable=False)
    recorded_at = sa.Column(UtcDateTime, nullable=False)

    customer = relationship(Customer)


class ChannelBinding(Base):
    """Which customer a WeChat openid or web user id belongs to; verified once identity was checked."""

    __tablename__ = "channel_bindings"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)

    id = sa.Column(sa.Integer, primary_key=True)
    channel = sa.Column(coded(Channel, "channel"), nullable=False)
    external_id = sa.Column(sa.String(128), nullable=False)
    customer_id = customer_fk()
    verified_at = sa.Column(UtcDateTime)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utc_now)

    customer = relationship(Customer)


class AuditRecord(Base):
    """One access to profile data through the service: who, in which role, whose, what, why, result.

    ``customer_no`` is not a foreign key: attempts on unknown customers are recorded too.
    """

    __tablename__ = "audit_records"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UtcDateTime, nullable=False, index=True)
    actor_id = sa.Column(sa.String(64), nullable=False)
    actor_role = sa.Column(coded(Role, "role"), nullable=False)
    customer_no = sa.Column(sa.String(16), index=True)
    operation = sa.Column(sa.String(40), nullable=False)
    fields = sa.Column(sa.JSON, nullable=False)
    action = sa.Column(coded(AuditAction, "audit_action"), nullable=False)
    outcome = sa.Column(coded(AuditOutcome, "audit_outcome"), nullable=False)
    purpose = sa.Column(sa.String(200), nullable=False)
    reference = sa.Column(sa.String(24))  # of the change a successful write made
