"""Imports every table so that metadata (and Alembic) sees the whole schema."""

from helpline.acd.models import AcdLease as AcdLease
from helpline.acd.models import Agent as Agent
from helpline.acd.models import AgentSession as AgentSession
from helpline.acd.models import AgentSkill as AgentSkill
from helpline.acd.models import AgentStateRow as AgentStateRow
from helpline.acd.models import Callback as Callback
from helpline.acd.models import Membership as Membership
from helpline.acd.models import Queue as Queue
from helpline.acd.models import ReasonCode as ReasonCode
from helpline.acd.models import Skill as Skill
from helpline.acd.models import Team as Team
from helpline.acd.models import TeamSupervisor as TeamSupervisor
from helpline.audit.models import AuditEntry
from helpline.auth.models import ApiToken, LoginAttempt, WebSession
from helpline.browserphone.models import BrowserCredential as BrowserCredential
from helpline.calls.models import CallRecord as CallRecord
from helpline.calls.models import CallSegment as CallSegment
from helpline.calls.models import Disposition as Disposition
from helpline.calls.models import QueueEvent as QueueEvent
from helpline.cluster.models import ClusterEvent as ClusterEvent
from helpline.cluster.models import ClusterNode as ClusterNode
from helpline.customers.models import Customer as Customer
from helpline.customers.models import CustomerEvent as CustomerEvent
from helpline.customers.models import CustomerNote as CustomerNote
from helpline.customers.models import CustomerPhone as CustomerPhone
from helpline.customers.models import CustomerSettings as CustomerSettings
from helpline.db.base import Base
from helpline.ivr.models import Flow as Flow
from helpline.ivr.models import FlowVersion as FlowVersion
from helpline.ivr.models import IvrPathStep as IvrPathStep
from helpline.kb.models import Article as Article
from helpline.kb.models import ArticleLabel as ArticleLabel
from helpline.kb.models import ArticleVersion as ArticleVersion
from helpline.kb.models import Category as Category
from helpline.mailsettings.models import TenantMailSettings as TenantMailSettings
from helpline.prompts.models import Prompt
from helpline.recordings.models import Recording
from helpline.registrations.models import Registration
from helpline.routing.models import AccessNumber, BlacklistEntry, Service, ServiceSlot
from helpline.sms.models import SmsDeliveryReport as SmsDeliveryReport
from helpline.sms.models import SmsGateway as SmsGateway
from helpline.sms.models import SmsMessage as SmsMessage
from helpline.sms.models import SmsTemplate as SmsTemplate
from helpline.stats.models import RollupState as RollupState
from helpline.stats.models import StatsSlot as StatsSlot
from helpline.surveys.models import Survey as Survey
from helpline.surveys.models import SurveyAnswer as SurveyAnswer
from helpline.surveys.models import SurveyQueue as SurveyQueue
from helpline.surveys.models import SurveyResponse as SurveyResponse
from helpline.tenants.models import CapacityLease, Tenant
from helpline.trunks.models import Trunk
from helpline.users.models import SipAccount, User
from helpline.voicemail.models import VoicemailBox, VoicemailMessage
from helpline.vxml.models import VxmlDocument as VxmlDocument
from helpline.webhooks.models import Webhook as Webhook
from helpline.webhooks.models import WebhookDelivery as WebhookDelivery
from helpline.workorders.models import Department as Department
from helpline.workorders.models import DepartmentMember as DepartmentMember
from helpline.workorders.models import SlaPolicy as SlaPolicy
from helpline.workorders.models import TimelineEntry as TimelineEntry
from helpline.workorders.models import WorkOrder as WorkOrder
from helpline.workorders.models import WorkOrderAttachment as WorkOrderAttachment
from helpline.workorders.models import WorkOrderComment as WorkOrderComment
from helpline.workorders.models import WorkOrderWatcher as WorkOrderWatcher

__all__ = [
    "AccessNumber",
    "ApiToken",
    "AuditEntry",
    "Base",
    "BlacklistEntry",
    "CapacityLease",
    "LoginAttempt",
    "Prompt",
    "Recording",
    "Registration",
    "Service",
    "ServiceSlot",
    "SipAccount",
    "Tenant",
    "Trunk",
    "User",
    "VoicemailBox",
    "VoicemailMessage",
    "WebSession",
]
