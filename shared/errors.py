"""Domain errors: a message id (the Vietnamese template) and its parameters, for the views.

shared/ never imports gettext (docs/architecture.md), so a message is raised untranslated:
its id is the Vietnamese text with Python %-style placeholders, marked with N_ so that Babel
extracts it, and the parameters travel beside it. str(error) is the Vietnamese sentence; a
view translates with gettext(error.message_id, **error.params) (docs/i18n.md).
"""

from __future__ import annotations


def N_(template: str) -> str:  # noqa: N802  # gettext's conventional name for a no-op marker
    """Mark a message for extraction (Babel keyword N_); it is translated where it is shown."""
    return template


class Label(str):
    """A translatable text used as a parameter of another message (a field's label, say).

    It is the Vietnamese text, so str(error) and every %-format see a plain string; a view
    that translates the message translates it too, from its own id and parameters.
    """

    message_id: str
    params: dict[str, object]

    def __new__(cls, message_id: str, /, **params: object) -> Label:
        label = super().__new__(cls, message_id % params if params else message_id)
        label.message_id, label.params = message_id, params
        return label


class DomainError(Exception):
    """Base of all domain errors; str(error) is a message fit to show the user.

    message_id is the Vietnamese template (placeholders %(name)s), params its values; without
    a message id the class's own message is used.
    """

    message = N_("Thao tác không hợp lệ.")

    def __init__(self, message_id: str | None = None, /, **params: object) -> None:
        self.message_id: str = message_id or self.message
        self.params: dict[str, object] = params
        super().__init__(self.message_id % params if params else self.message_id)


class InvalidInput(DomainError):
    """Input that fails validation; nothing was changed."""

    message = N_("Dữ liệu nhập vào không hợp lệ.")


class ElectionNotFound(DomainError):
    """No election with that id."""

    message = N_("Không tìm thấy cuộc lấy phiếu.")


class WrongElectionState(DomainError):
    """The action is not allowed in the election's current state."""

    message = N_("Không thể thực hiện thao tác này ở trạng thái hiện tại của cuộc lấy phiếu.")


class QuorumNotMet(DomainError):
    """Fewer than two thirds of those convened are present (QĐ 96)."""

    message = N_("Chưa đủ 2/3 số người được triệu tập có mặt: chưa thể bắt đầu bỏ phiếu.")


class VoterNotFound(DomainError):
    """No voter with that id on the roster."""

    message = N_("Không tìm thấy người này trong danh sách ghi phiếu.")


class AlreadyHasSlip(DomainError):
    """The voter already holds a slip; a second one needs the first voided."""

    message = N_("Người này đã được phát phiếu. Muốn phát lại, phải thu hồi và hủy phiếu cũ.")


class TokenInvalid(DomainError):
    """The code is malformed, unknown or belongs to another election."""

    message = N_("Mã phiếu không đúng. Vui lòng kiểm tra lại hoặc liên hệ bàn phát phiếu.")


class TokenAlreadySpent(DomainError):
    """The slip has already been used to cast a ballot."""

    message = N_("Phiếu này đã được sử dụng. Mỗi phiếu chỉ dùng một lần.")


class CastAlreadyRecorded(DomainError):
    """A retried cast (same cast id) of a slip whose ballot is already stored: nothing to do."""

    message = N_("Phiếu của đồng chí đã được ghi nhận ở lần gửi trước.")


class TokenVoided(DomainError):
    """The slip was voided (spoiled, replaced or unused at close)."""

    message = N_("Phiếu này đã bị hủy và không còn giá trị.")


class ElectionNotOpen(DomainError):
    """Ballots can only be cast while the vote is open."""

    message = N_("Cuộc bỏ phiếu hiện không mở. Vui lòng chờ chủ trì hội nghị.")


class BallotIncomplete(DomainError):
    """A ballot must mark exactly one level for every person."""

    message = N_("Phiếu chưa hợp lệ: phải chọn đúng một mức tín nhiệm cho mỗi người.")


class ShareError(DomainError):
    """A key share is malformed, wrong or belongs to another election."""

    message = N_("Mảnh khóa không hợp lệ.")


class BoxInvalid(DomainError):
    """The sealed ballot box failed verification."""

    message = N_("Hòm phiếu không hợp lệ.")


class SlipNotIssuedToVoter(DomainError):
    """The slip handed back for voiding was not issued to the voter on that row; nothing changed."""

    message = N_("Phiếu này không phải phiếu đã phát cho người này; không hủy.")


class HolderKeyLost(DomainError):
    """The key that ties this voter's slip to them is gone (the machine restarted): no void."""

    message = N_("Không kiểm tra được phiếu này có đúng là phiếu đã phát cho người này hay không: "
                 "khóa tạm trong bộ nhớ của máy đã mất khi máy khởi động lại, nên phiếu phát trước "
                 "lúc đó không hủy được trên máy; chưa thay đổi gì. Người ghi phiếu dùng tiếp phiếu "
                 "đó (quét không được thì gõ mã); nếu phiếu không dùng được nữa, Ban kiểm phiếu ghi "
                 "vào biên bản như phiếu bị mất (docs/runbook.md).")


class HolderKeyUnavailable(DomainError):
    """The desk's in-memory key file cannot be made or read safely; nothing changed."""

    message = N_("Máy không giữ được khóa tạm của bàn phát phiếu (thư mục trong /dev/shm thiếu "
                 "hoặc không an toàn); chưa thay đổi gì. Báo tổ kỹ thuật (docs/runbook.md).")


class VoterLeft(DomainError):
    """The voter was recorded as having left before the vote: no slip is issued again."""

    message = N_("Người này đã được ghi là rời hội nghị trước thời điểm bỏ phiếu (phiếu đã thu hồi và "
                 "hủy); không phát phiếu lại.")


class MeetingDateNotToday(DomainError):
    """The meeting date of the election is not today's date: the chair must confirm before opening."""

    message = N_("Ngày hội nghị ghi trong cuộc lấy phiếu không phải hôm nay: chủ trì cần xác nhận trước khi mở.")
