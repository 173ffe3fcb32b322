"""Interactive messages, typed: list pickers, time pickers, panels, carousels, quick replies, views.

A Lex bot (or a flow) sends an interactive message as a ``MESSAGE`` whose content type is
``application/vnd.amazonaws.connect.message.interactive`` and whose content is a JSON template::

    {"templateType": "ListPicker", "version": "1.0", "data": {"content": {...}}}

:func:`parse_template` (and ``item.interactive`` on a
:class:`~connectparticipant_ext.TranscriptItem`) turns that JSON into one of the classes
below; :meth:`Connection.reply_to <connectparticipant_ext.Connection.reply_to>` sends the
customer's answer the way AWS's chat widget does (see :func:`build_reply`).

Sources:

* The template fields: the Amazon Connect Administrator Guide, "Add Amazon Lex interactive
  messages for customers in chat" (docs.aws.amazon.com/connect/latest/adminguide/interactive-messages.html),
  and the decoders of AWS's iOS chat SDK (amazon-connect-chat-ios,
  ``Sources/Core/Models/MessageContent.swift``).
* The answers: AWS's chat widget (amazon-connect-chat-interface,
  ``src/components/Chat/ChatTranscriptor/ChatMessages/InteractiveMessages/*.js``,
  ``InteractiveMessage.js`` and ``src/utils/helper.js`` ``createInteractiveMessagePayload``):
  a list picker, panel or quick reply choice is sent as ``text/plain`` with the element's
  title; a time picker choice as ``text/plain`` with the slot's ``date``; a choice inside a
  carousel as ``text/plain`` holding the JSON ``{"templateIdentifier", "listTitle",
  "selectionText"}``; a "Show more"/"Previous options" action button and a view's action as
  ``application/vnd.amazonaws.connect.message.interactive.response`` JSON.
* Hyperlink elements (``"type": "hyperlink"`` with a ``url``) send nothing in the widget: they
  open a link. :func:`build_reply` refuses them.

Every class keeps the template's dict in ``raw`` and ignores fields it does not know, so a
template from a newer service parses; a ``templateType`` this module does not know parses as
a plain :class:`InteractiveTemplate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Optional, Union

import attrs

from . import _json, _wire
from ._time import parse_time
from .exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "INTERACTIVE_CONTENT_TYPE",
    "INTERACTIVE_RESPONSE_CONTENT_TYPE",
    "Carousel",
    "Element",
    "InteractiveReply",
    "InteractiveTemplate",
    "ListPicker",
    "Location",
    "Panel",
    "QuickReply",
    "ReplyMessage",
    "TimePicker",
    "Timeslot",
    "ViewResource",
    "build_reply",
    "parse_template",
]

INTERACTIVE_CONTENT_TYPE = _wire.INTERACTIVE
"""The content type of an interactive message (what a bot sends)."""

INTERACTIVE_RESPONSE_CONTENT_TYPE = _wire.INTERACTIVE_RESPONSE
"""The content type of an interactive response (what AWS's widget sends for action buttons and views).

A contact accepts it only when it was started with it in ``SupportedMessagingContentTypes``
(amazon-connect-chat-interface, ``.github/docs/InteractiveMessageActionButtonImplementation.md``).
"""

TEMPLATE_VERSION = "1.0"
"""The only template version the admin guide documents; the widget answers with it."""

ACTION_SHOW_MORE = "SHOW_MORE"
ACTION_PREVIOUS_OPTIONS = "PREVIOUS_OPTIONS"
_ACTIONS = (ACTION_SHOW_MORE, ACTION_PREVIOUS_OPTIONS)


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


def _raw() -> Any:
    return attrs.field(repr=False, eq=False, factory=dict)


@attrs.frozen(kw_only=True)
class ReplyMessage:
    """What the chat shows after the customer chose (``data.replyMessage``); optional in templates."""

    title: Optional[str] = None
    subtitle: Optional[str] = None
    image_type: Optional[str] = None
    image_data: Optional[str] = None
    image_description: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Any) -> Optional[ReplyMessage]:
        if not isinstance(data, Mapping):
            return None
        return cls(
            title=_str(data.get("title")),
            subtitle=_str(data.get("subtitle")),
            image_type=_str(data.get("imageType")),
            image_data=_str(data.get("imageData")),
            image_description=_str(data.get("imageDescription")),
        )


@attrs.frozen(kw_only=True)
class Element:
    """One choice of a list picker, panel or quick reply.

    ``type`` is ``"hyperlink"`` for a link (with ``url``; choosing it sends nothing), and
    ``action_detail`` is ``"SHOW_MORE"`` or ``"PREVIOUS_OPTIONS"`` for the widget's paging
    buttons; both come from amazon-connect-chat-interface (``Model.js``
    ``InteractiveMessageSelectionType``, ``InteractiveMessageActionButtonImplementation.md``).
    """

    title: str
    subtitle: Optional[str] = None
    image_type: Optional[str] = None
    image_data: Optional[str] = None
    image_description: Optional[str] = None
    type: Optional[str] = None
    url: Optional[str] = None
    action_detail: Optional[str] = None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Any) -> Element:
        data = _mapping(data)
        return cls(
            title=_str(data.get("title")) or "",
            subtitle=_str(data.get("subtitle")),
            image_type=_str(data.get("imageType")),
            image_data=_str(data.get("imageData")),
            image_description=_str(data.get("imageDescription")),
            type=_str(data.get("type")),
            url=_str(data.get("url")),
            action_detail=_str(data.get("actionDetail")),
            raw=dict(data),
        )

    @property
    def is_link(self) -> bool:
        """True for a hyperlink element: the widget opens ``url`` and sends no answer."""
        return self.type == "hyperlink" and bool(self.url)

    @property
    def is_action(self) -> bool:
        """True for a "Show more"/"Previous options" paging button."""
        return self.action_detail in _ACTIONS


@attrs.frozen(kw_only=True)
class Timeslot:
    """One slot of a time picker: ``date`` as the template gives it (ISO 8601) and minutes."""

    date: str
    duration: Optional[int] = None

    @property
    def start(self) -> Optional[datetime]:
        """``date`` parsed to an aware UTC datetime, or None if it does not parse."""
        try:
            return parse_time(self.date)
        except (TypeError, ValueError):
            return None

    @classmethod
    def from_dict(cls, data: Any) -> Timeslot:
        data = _mapping(data)
        return cls(date=_str(data.get("date")) or "", duration=_int(data.get("duration")))


@attrs.frozen(kw_only=True)
class Location:
    """A time picker's place (``data.content.location``): coordinates, a title and a radius."""

    latitude: Optional[float] = None
    longitude: Optional[float] = None
    title: Optional[str] = None
    radius: Optional[int] = None

    @classmethod
    def from_dict(cls, data: Any) -> Optional[Location]:
        if not isinstance(data, Mapping):
            return None
        return cls(
            latitude=_float(data.get("latitude")),
            longitude=_float(data.get("longitude")),
            title=_str(data.get("title")),
            radius=_int(data.get("radius")),
        )


@attrs.frozen(kw_only=True)
class InteractiveTemplate:
    """An interactive message's template.

    Instances of this class itself stand for template types this library does not know
    (``template_type`` says which); the known types are its subclasses. ``raw`` is the
    whole template dict as the service sent it.
    """

    template_type: str
    version: Optional[str] = None
    title: Optional[str] = None
    template_identifier: Optional[str] = None
    """Set on the templates nested in a :class:`Carousel`."""
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InteractiveTemplate:
        """Build the typed template for ``data["templateType"]`` (unknown types: this class)."""
        template_type = _str(data.get("templateType")) or ""
        target = _TEMPLATE_TYPES.get(template_type, InteractiveTemplate)
        content = _mapping(_mapping(data.get("data")).get("content"))
        common: dict[str, Any] = {
            "template_type": template_type,
            "version": _str(data.get("version")),
            "title": _str(content.get("title")),
            "template_identifier": _str(data.get("templateIdentifier")),
            "raw": dict(data),
        }
        if target is InteractiveTemplate:
            return InteractiveTemplate(**common)
        return target._from_parts(common, _mapping(data.get("data")), content)

    @classmethod
    def _from_parts(
        cls, common: dict[str, Any], data: Mapping[str, Any], content: Mapping[str, Any]
    ) -> InteractiveTemplate:
        return cls(**common)

    @property
    def content(self) -> dict[str, Any]:
        """The template's ``data.content`` dict as sent."""
        return dict(_mapping(_mapping(self.raw.get("data")).get("content")))


@attrs.frozen(kw_only=True)
class ListPicker(InteractiveTemplate):
    """Up to six choices, each with an optional image (admin guide: "List picker template").

    ``reference_id``, ``list_id``, ``pre_index`` and ``next_index`` are the paging fields
    of AWS's widget (amazon-connect-chat-interface, InteractiveMessageActionButtonImplementation.md).
    """

    subtitle: Optional[str] = None
    image_type: Optional[str] = None
    image_data: Optional[str] = None
    image_description: Optional[str] = None
    elements: tuple[Element, ...] = ()
    reply_message: Optional[ReplyMessage] = None
    reference_id: Optional[str] = None
    list_id: Optional[str] = None
    pre_index: Optional[int] = None
    next_index: Optional[int] = None

    @classmethod
    def _from_parts(
        cls, common: dict[str, Any], data: Mapping[str, Any], content: Mapping[str, Any]
    ) -> InteractiveTemplate:
        return cls(
            **common,
            subtitle=_str(content.get("subtitle")),
            image_type=_str(content.get("imageType")),
            image_data=_str(content.get("imageData")),
            image_description=_str(content.get("imageDescription")),
            elements=tuple(Element.from_dict(e) for e in _list(content.get("elements"))),
            reply_message=ReplyMessage.from_dict(data.get("replyMessage")),
            reference_id=_str(content.get("referenceId")),
            list_id=_str(content.get("listId")),
            pre_index=_int(content.get("preIndex")),
            next_index=_int(content.get("nextIndex")),
        )


@attrs.frozen(kw_only=True)
class Panel(ListPicker):
    """A prompt with up to ten buttons (admin guide: "Panel template"); answered like a list picker."""


@attrs.frozen(kw_only=True)
class QuickReply(InteractiveTemplate):
    """Short answers shown as chips under a prompt (admin guide: "Quick reply template")."""

    subtitle: Optional[str] = None
    elements: tuple[Element, ...] = ()

    @classmethod
    def _from_parts(
        cls, common: dict[str, Any], data: Mapping[str, Any], content: Mapping[str, Any]
    ) -> InteractiveTemplate:
        return cls(
            **common,
            subtitle=_str(content.get("subtitle")),
            elements=tuple(Element.from_dict(e) for e in _list(content.get("elements"))),
        )


@attrs.frozen(kw_only=True)
class TimePicker(InteractiveTemplate):
    """Appointment slots (admin guide: "Time picker template").

    ``time_zone_offset`` is in minutes, as the widget applies it (``TimePicker.js``).
    """

    subtitle: Optional[str] = None
    time_zone_offset: Optional[int] = None
    location: Optional[Location] = None
    timeslots: tuple[Timeslot, ...] = ()
    reply_message: Optional[ReplyMessage] = None

    @classmethod
    def _from_parts(
        cls, common: dict[str, Any], data: Mapping[str, Any], content: Mapping[str, Any]
    ) -> InteractiveTemplate:
        return cls(
            **common,
            subtitle=_str(content.get("subtitle")),
            time_zone_offset=_int(content.get("timeZoneOffset")),
            location=Location.from_dict(content.get("location")),
            timeslots=tuple(Timeslot.from_dict(t) for t in _list(content.get("timeslots"))),
            reply_message=ReplyMessage.from_dict(data.get("replyMessage")),
        )


@attrs.frozen(kw_only=True)
class Carousel(InteractiveTemplate):
    """Several list pickers or panels side by side (admin guide: "Carousel template").

    Each of ``elements`` is a full template (usually :class:`ListPicker` or :class:`Panel`)
    with its ``template_identifier``; answer with ``reply_to(carousel, (element, choice))``
    or ``reply_to(carousel, choice)`` when the choice's element is unambiguous.
    """

    elements: tuple[InteractiveTemplate, ...] = ()

    @classmethod
    def _from_parts(
        cls, common: dict[str, Any], data: Mapping[str, Any], content: Mapping[str, Any]
    ) -> InteractiveTemplate:
        nested = tuple(
            InteractiveTemplate.from_dict(e) for e in _list(content.get("elements")) if isinstance(e, Mapping)
        )
        return cls(**common, elements=nested)


@attrs.frozen(kw_only=True)
class ViewResource(InteractiveTemplate):
    """A step-by-step guide view rendered in the chat (``templateType`` ``ViewResource``).

    The widget hands ``data.content`` to Amazon Connect's view renderer and answers each of
    its actions with an interactive response (``InteractiveMessage.js``); the iOS SDK reads
    ``viewId`` from the content (``ViewResourceContent``). The admin guide does not document
    this template's fields, so beyond ``view_id`` and ``actions`` (the view's ``Actions``)
    use :attr:`content`.
    """

    view_id: Optional[str] = None
    actions: tuple[str, ...] = ()

    @classmethod
    def _from_parts(
        cls, common: dict[str, Any], data: Mapping[str, Any], content: Mapping[str, Any]
    ) -> InteractiveTemplate:
        actions = tuple(a for a in _list(content.get("Actions")) if isinstance(a, str))
        return cls(**common, view_id=_str(content.get("viewId")), actions=actions)


_TEMPLATE_TYPES: dict[str, type[InteractiveTemplate]] = {
    "ListPicker": ListPicker,
    "Panel": Panel,
    "QuickReply": QuickReply,
    "TimePicker": TimePicker,
    "Carousel": Carousel,
    "ViewResource": ViewResource,
}


def parse_template(content: Union[str, bytes, Mapping[str, Any]]) -> Optional[InteractiveTemplate]:
    """The typed template in an interactive message's content, or None if it holds no template.

    Accepts the content string (JSON) or an already-parsed dict. Content that is not a JSON
    object with a string ``templateType`` gives None rather than an error: a transcript
    reader should never fail on a malformed message.
    """
    if isinstance(content, (str, bytes)):
        try:
            content = _json.loads(content)
        except ValueError:  # not JSON, or nested too deeply
            return None
    if not isinstance(content, Mapping) or not isinstance(content.get("templateType"), str):
        return None
    return InteractiveTemplate.from_dict(content)


# -- answers -----------------------------------------------------------------------------------


@attrs.frozen
class InteractiveReply:
    """A message to send in answer to a template: its content and content type."""

    content: str
    content_type: str


def build_reply(template: InteractiveTemplate, choice: Any) -> InteractiveReply:
    """The message AWS's chat widget sends when a customer makes ``choice`` in ``template``.

    ``choice`` may be:

    * :class:`ListPicker`, :class:`Panel`, :class:`QuickReply`: one of its ``elements``, an
      element's title, or its index. A paging button (``action_detail``) is answered with
      the widget's interactive response; a hyperlink element is refused (the widget sends
      nothing for it).
    * :class:`TimePicker`: one of its ``timeslots``, a slot's ``date`` string, its index,
      or an aware datetime equal to a slot's start. The slot's ``date`` is sent as the
      template gave it, which is what the widget sends when the template has no
      ``timeZoneOffset``; with an offset the widget sends the date shifted by it in a format of
      its own (``TimePicker.js`` ``applyTimeZoneOffset``), which this library does not copy.
    * :class:`Carousel`: ``(nested_template, choice)``, or a choice that exactly one nested
      template holds.
    * :class:`ViewResource`: the action name (one of :attr:`ViewResource.actions` when the
      view lists them), or a mapping ``{"action": name, "data": {...}}`` with the view's output.

    Raises:
        InvalidArgumentError: the choice is not one the template offers.
        InvalidArgumentTypeError: ``template`` is not a template, or ``choice`` is of a type
            that template cannot take.
    """
    if not isinstance(template, InteractiveTemplate):
        raise InvalidArgumentTypeError(f"template must be an InteractiveTemplate, not {type(template).__name__}")
    if isinstance(template, ListPicker):  # Panel too
        return _reply_to_picker(template, _pick_element(template, choice))
    if isinstance(template, QuickReply):
        return _plain(_pick_element(template, choice).title)
    if isinstance(template, TimePicker):
        return _plain(_pick_timeslot(template, choice).date)
    if isinstance(template, Carousel):
        return _reply_to_carousel(template, choice)
    if isinstance(template, ViewResource):
        return _reply_to_view(template, choice)
    raise InvalidArgumentError(
        f"cannot answer a {template.template_type or 'template without a templateType'!s} template: "
        "this library does not know how AWS's widget answers it; send a message yourself"
    )


def _plain(text: str) -> InteractiveReply:
    if not text:
        raise InvalidArgumentError("choice has an empty title; there is nothing to send")
    return InteractiveReply(text, _wire.TEXT_PLAIN)


def _pick_element(template: Union[ListPicker, QuickReply], choice: Any) -> Element:
    elements = template.elements
    if isinstance(choice, Element):
        if choice not in elements:
            raise InvalidArgumentError(
                f"choice {choice.title!r} is not one of this {template.template_type}'s elements"
            )
        return choice
    if isinstance(choice, bool):
        raise InvalidArgumentTypeError("choice must be an Element, a title or an index, not a bool")
    if isinstance(choice, int):
        if not 0 <= choice < len(elements):
            raise InvalidArgumentError(
                f"choice index {choice} is out of range: the template has {len(elements)} elements"
            )
        return elements[choice]
    if isinstance(choice, str):
        for element in elements:
            if element.title == choice:
                return element
        titles = ", ".join(repr(e.title) for e in elements)
        raise InvalidArgumentError(f"choice {choice!r} is not one of this {template.template_type}'s titles: {titles}")
    raise InvalidArgumentTypeError(f"choice must be an Element, a title or an index, not {type(choice).__name__}")


def _reply_to_picker(template: ListPicker, element: Element) -> InteractiveReply:
    if element.is_link:
        raise InvalidArgumentError(
            f"choice {element.title!r} is a hyperlink: AWS's widget opens {element.type} elements and sends no answer"
        )
    if element.is_action:
        # helper.js createInteractiveMessagePayload: the paging buttons ask the bot for more options.
        body = {
            "version": TEMPLATE_VERSION,
            "data": {
                "actionName": element.action_detail,
                "preIndex": template.pre_index,
                "nextIndex": template.next_index,
                "listId": template.list_id,
                "templateType": template.template_type,
                "referenceId": template.reference_id,
            },
            "action": element.action_detail,
        }
        return InteractiveReply(json.dumps(body, separators=(",", ":")), INTERACTIVE_RESPONSE_CONTENT_TYPE)
    return _plain(element.title)


def _pick_timeslot(template: TimePicker, choice: Any) -> Timeslot:
    slots = template.timeslots
    if isinstance(choice, Timeslot):
        if choice not in slots:
            raise InvalidArgumentError(f"choice {choice.date!r} is not one of this TimePicker's timeslots")
        return choice
    if isinstance(choice, bool):
        raise InvalidArgumentTypeError("choice must be a Timeslot, a date string, an index or a datetime, not a bool")
    if isinstance(choice, int):
        if not 0 <= choice < len(slots):
            raise InvalidArgumentError(
                f"choice index {choice} is out of range: the template has {len(slots)} timeslots"
            )
        return slots[choice]
    if isinstance(choice, str):
        for slot in slots:
            if slot.date == choice:
                return slot
        raise InvalidArgumentError(f"choice {choice!r} is not the date of one of this TimePicker's timeslots")
    if isinstance(choice, datetime):
        if choice.tzinfo is None:
            raise InvalidArgumentError("choice must be a timezone-aware datetime")
        for slot in slots:
            if slot.start == choice:
                return slot
        raise InvalidArgumentError(
            f"choice {choice.isoformat()} is not the start of one of this TimePicker's timeslots"
        )
    raise InvalidArgumentTypeError(
        f"choice must be a Timeslot, a date string, an index or a datetime, not {type(choice).__name__}"
    )


def _reply_to_carousel(template: Carousel, choice: Any) -> InteractiveReply:
    if isinstance(choice, tuple) and len(choice) == 2 and isinstance(choice[0], InteractiveTemplate):
        nested, inner = choice
        if nested not in template.elements:
            raise InvalidArgumentError("choice names a template that is not one of this Carousel's elements")
    else:
        holders = [n for n in template.elements if isinstance(n, (ListPicker, QuickReply)) and _holds(n, choice)]
        if len(holders) != 1:
            raise InvalidArgumentError(
                "choice is in none of this Carousel's elements"
                if not holders
                else "choice is in several of this Carousel's elements: pass (element, choice)"
            )
        nested, inner = holders[0], choice
    if not isinstance(nested, ListPicker):
        raise InvalidArgumentError(f"cannot answer a {nested.template_type} inside a Carousel")
    element = _pick_element(nested, inner)
    if element.is_link:
        raise InvalidArgumentError(f"choice {element.title!r} is a hyperlink: AWS's widget sends no answer for it")
    # helper.js createInteractiveMessagePayload(isCarouselElem=true): a JSON string sent as text/plain.
    body = {"templateIdentifier": nested.template_identifier, "listTitle": nested.title, "selectionText": element.title}
    return InteractiveReply(json.dumps(body, separators=(",", ":")), _wire.TEXT_PLAIN)


def _holds(template: Union[ListPicker, QuickReply], choice: Any) -> bool:
    try:
        _pick_element(template, choice)
    except (InvalidArgumentError, InvalidArgumentTypeError):
        return False
    return not isinstance(choice, int)  # an index is ambiguous across elements


def _reply_to_view(template: ViewResource, choice: Any) -> InteractiveReply:
    action: Any
    output: Any
    if isinstance(choice, str):
        action, output = choice, {}
    elif isinstance(choice, Mapping):
        action, output = choice.get("action"), choice.get("data", {})
        if not isinstance(action, str):
            raise InvalidArgumentTypeError('choice["action"] must be a str')
        if not isinstance(output, Mapping):
            raise InvalidArgumentTypeError('choice["data"] must be a mapping (the view\'s output)')
    else:
        raise InvalidArgumentTypeError(f"choice must be an action name or a mapping, not {type(choice).__name__}")
    if not action.strip():
        raise InvalidArgumentError("the view action must not be empty")
    if template.actions and action not in template.actions:
        raise InvalidArgumentError(
            f"action {action!r} is not one of this view's actions: {', '.join(template.actions)}"
        )
    # InteractiveMessage.js viewOnActionCallback.
    body = {"action": action, "data": dict(output), "templateType": "ViewResource", "version": TEMPLATE_VERSION}
    return InteractiveReply(json.dumps(body, separators=(",", ":")), INTERACTIVE_RESPONSE_CONTENT_TYPE)
