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
