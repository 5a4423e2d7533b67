"""SMS gateways onto the one SMS intake: Kannel, Twilio, Telerivet and a generic adapter described by data.

Each adapter reads a gateway's request into an :class:`Inbound` and renders the reply the gateway's way;
:func:`receive` does the rest (retried deliveries, sender lookup, parsing, the write). See docs/sms.md.

>>> from pollwatch.intake.gateways import GatewayRequest, kannel
>>> request = GatewayRequest("GET", "http://x/api/v1/sms/in/kannel?sender=00923001234567"
...                          "&text=PW+NA-1+1+45+%DB%B1%DB%B2%D8%8C3&id=7f1c&election=pk-2024")
>>> inbound = kannel.read(request, {})
>>> inbound.sender, inbound.message_id, inbound.election
('00923001234567', '7f1c', 'pk-2024')
>>> kannel.answer("OK NA-1/1 leaf 3").headers, kannel.answer("ERR سلام").headers
({}, {'X-Kannel-Coding': '2'})
"""

from pollwatch.intake.gateways import generic, kannel, telerivet, twilio
from pollwatch.intake.gateways.core import Inbound, Intake, Outcome, receive
from pollwatch.intake.gateways.http import GatewayAnswer, GatewayRequest
from pollwatch.intake.gateways.service import deliver, gateways_path, load_gateways

__all__ = [
    "GatewayAnswer",
    "GatewayRequest",
    "Inbound",
    "Intake",
    "Outcome",
    "deliver",
    "gateways_path",
    "generic",
    "kannel",
    "load_gateways",
    "receive",
    "telerivet",
    "twilio",
]
