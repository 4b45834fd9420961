from .base import utcnow
from .people import APPLICANT_ROLES, RELATIONS, ROLES, STAFF_ROLES, Household, Person, User
from .region import CITY_CODE, LEVELS, RT, RW, AssignmentLog, Region, SatgasAssignment
from .halo import FaqEntry, HaloMessage, HaloThread
from .notify import Notification, NotificationPreference, OutboxMessage
from .custody import HOLDER_TYPES, CustodyItem, FieldAction, Handover, HandoverCode, handover_item
from .request import (AccessLog, Event, FieldJob, HolidayOverride, IssuedDocument, RequestDocument, ServiceRequest, SiakRecord,
                      SigningKey)
from .siak import HANDOFF_STATUSES, SiakHandoff

__all__ = [
    "utcnow", "APPLICANT_ROLES", "RELATIONS", "ROLES", "STAFF_ROLES", "Household", "Person", "User",
    "CITY_CODE", "LEVELS", "RT", "RW", "Region", "Event", "HolidayOverride", "RequestDocument",
    "ServiceRequest", "AccessLog", "IssuedDocument", "SiakRecord", "SigningKey", "SatgasAssignment", "AssignmentLog",
    "FieldJob", "HOLDER_TYPES", "CustodyItem", "FieldAction", "Handover", "HandoverCode", "handover_item",
    "FaqEntry", "HaloMessage", "HaloThread", "Notification", "NotificationPreference", "OutboxMessage",
    "HANDOFF_STATUSES", "SiakHandoff",
]
