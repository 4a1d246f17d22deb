"""Customer-facing texts produced outside the dialogue model (by the gateway itself).

Everything the assistant says inside a conversation lives in ``domain.yml``.
"""

EMPTY_MESSAGE = "您好像还没有输入内容。请问有什么可以帮您？"
MESSAGE_TOO_LONG = "您的消息有点长（超过 {limit} 个字），麻烦您精简一下或分几条发送，我们会逐条为您处理。"
BAD_REQUEST = "抱歉，消息格式不正确，请刷新页面后重试。"
SERVICE_UNAVAILABLE = (
    "抱歉，智能客服暂时有点忙，您的消息未能处理，请稍后再试一次。"
    "如有紧急情况（如银行卡丢失、被骗），请立即拨打星海银行 24 小时客服热线 400-820-9555。"
)
LOGIN_EXPIRED = "您的登录状态已失效，请重新登录星海手机银行或网上银行后再打开在线客服。"

# Human handoff (bot/conversation.py). The bot's own "正在为您转接…" comes from actions/messages.yml.
QUEUE_POSITION = (
    "您当前排在第 {position} 位，预计等待约 {minutes} 分钟。"
    "等待期间您可以继续补充情况，客服接入后会一并看到。"
)
STILL_WAITING = "已收到，客服接入后会第一时间看到您的留言。您目前排在第 {position} 位，请稍候。"
NOBODY_ONLINE = (
    "抱歉，目前暂无{skill}方向的客服在线。"
    "您可以登记回电，客服上线后会尽快联系您；也可以继续等待或返回智能助手。"
)
CALLBACK_BUTTON = "登记回电"
CANCEL_BUTTON = "取消排队，返回智能助手"
HANDOFF_CANCELLED = "好的，已为您取消人工排队，智能助手小星继续为您服务。请问还有什么可以帮您？"
CALLBACK_BOOKED = (
    "已为您登记回电，客服上线后会通过本对话或您在本行预留的联系电话与您联系。在此期间小星继续为您服务。"
)
TOO_FAST = "您发送消息有点快，小星需要一点时间处理。请稍等几秒再发送，谢谢您的耐心。"
BOT_DEGRADED = (
    "抱歉，小星的部分服务暂时出了点问题，这条消息没能为您办理。"
    "您可以稍后再试，或点击“转人工”，由客服为您继续处理。"
)
BACK_TO_BOT = "人工服务已结束，智能助手小星继续为您服务。请问还有什么可以帮您？"
AGENT_JOINED = "人工客服{name}已接入，正在查看您的情况，请稍候。"
TRANSFERRED = "正在为您转接{skill}方向的客服，请稍候，您之前说明的情况会一并转交，无需重复。"

# WeChat (bot/wechat/channel.py)
WECHAT_WELCOME = (
    "您好，欢迎关注星海银行！我是智能客服小星，可以为您解答银行卡、转账、贷款、理财等问题，直接发文字给我即可。"
    "查询账户前需要先验证身份：发送“查余额”，按提示输入预留手机号和短信验证码，之后在微信里就能直接办理。"
)
WECHAT_VOICE_UNCLEAR = "抱歉，这条语音小星没有听清，麻烦您用文字再说一遍。"
WECHAT_UNSUPPORTED = {
    "image": "收到您的图片。小星暂时看不懂图片，请用文字描述一下您遇到的问题。",
    "location": "收到您的位置。如需查找附近网点，请发送“附近网点”并告诉我所在的城市和区域。",
    "other": "抱歉，小星暂时只能处理文字和语音消息，请用文字告诉我您的问题。",
}
WECHAT_WINDOW_CLOSED = (
    "微信未能送达：客户超过 48 小时未与公众号互动（错误码 {code}），请改用电话或短信联系客户。"
)
WECHAT_NOT_SENT = "微信消息发送失败（错误码 {code}），请稍后重试或改用电话联系客户。"
