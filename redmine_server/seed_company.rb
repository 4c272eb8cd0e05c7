# The second seed: a Redmine shaped like a real company's, on top of the bare one (same users, same keys).
# Safe to run again: every record is found or created by a stable key.
#
#   acme      public; trackers Bug, Feature, Support; issue custom fields of every common format (some required,
#             some for one tracker only, one with several values, one only Managers see); Support without a due
#             date or an estimate; versions and categories; the group "Support team" as a member; Developers
#             may not set Private in the status New (a workflow field permission), though their role lets them
#             make their own tickets private, must give a Feature a Review date, and must name a Reviewer to
#             resolve a Bug; the builtin "Non member users" group is a member with a role that may not view
#             issues.
#   handbook  public, Redmine's defaults for outsiders: Non member and Anonymous may view its issues; no
#             custom fields, and bob is a Developer there (under the workflow rule on Private above).
#   intranet  public to logged-in people only: the builtin "Anonymous users" group's role may not view issues.
COMPANY_SEED = true
load File.join(__dir__, "seed.rb")

Setting.issue_group_assignment = "1"

def company_role(name, permissions)
  role = Role.find_by(name: name) || Role.new(name: name)
  role.permissions = permissions
  role.issues_visibility = "default"
  role.save!
  role
end

def company_field(name, format, trackers:, projects:, **attributes)
  field = IssueCustomField.find_by(name: name) || IssueCustomField.new(name: name)
  field.field_format = format
  field.is_for_all = false
  field.visible = true
  attributes.each { |key, value| field.send("#{key}=", value) }
  field.trackers = trackers
  field.projects = projects
  field.save!
  field
end

bug, feature, support = %w[Bug Feature Support].map { |name| Tracker.find_by_name!(name) }
support.core_fields = Tracker::CORE_FIELDS - %w[due_date estimated_hours]
support.save!

developer = Role.find_by_name!("Developer")
manager = Role.find_by_name!("Manager")
developer.add_permission!(:set_own_issues_private, :add_issue_watchers, :view_issue_watchers)
# A role that may see projects but not their issues: what outsiders get in acme (and Anonymous in intranet).
outsider = company_role("Outsider", %i[view_news view_wiki_pages])

acme = seed_project("acme", "Acme Support", is_public: true)
acme.trackers = [bug, feature, support]
acme.save!
handbook = seed_project("handbook", "Handbook", is_public: true)
intranet = seed_project("intranet", "Intranet", is_public: true)

alice = User.find_by_login!("alice")
bob = User.find_by_login!("bob")
carol = User.find_by_login!("carol")
frank = User.find_by_login!("frank")
seed_member(acme, alice, "Manager")
seed_member(acme, bob, "Developer")
seed_member(handbook, alice, "Manager")
seed_member(handbook, bob, "Developer")
seed_member(intranet, alice, "Manager")

team = Group.find_by(lastname: "Support team") || Group.new(lastname: "Support team")
team.users = [carol, frank]
team.save!
team_member = Member.find_by(project: acme, user_id: team.id) || Member.new(project: acme, principal: team)
team_member.role_ids = [developer.id]
team_member.save!

def builtin_member(project, group, role)
  member = Member.find_by(project: project, user_id: group.id) || Member.new(project: project, principal: group)
  member.role_ids = [role.id]
  member.save!
end
builtin_member(acme, GroupNonMember.load_instance, outsider)
builtin_member(intranet, GroupAnonymous.load_instance, outsider)

versions = %w[1.0 2.0].map do |name|
  Version.find_by(project: acme, name: name) || Version.create!(project: acme, name: name, status: "open")
end
%w[Backend Frontend].each do |name|
  IssueCategory.find_by(project: acme, name: name) || IssueCategory.create!(project: acme, name: name)
end

all_three = [bug, feature, support]
fields = {
  customer: company_field("Customer", "string", trackers: all_three, projects: [acme], is_required: true,
                                                 max_length: 60),
  steps: company_field("Steps to reproduce", "text", trackers: [bug], projects: [acme]),
  points: company_field("Story points", "int", trackers: [feature], projects: [acme]),
  budget: company_field("Budget", "float", trackers: [feature], projects: [acme]),
  review: company_field("Review date", "date", trackers: all_three, projects: [acme]),
  billable: company_field("Billable", "bool", trackers: all_three, projects: [acme], default_value: "0",
                                               edit_tag_style: "check_box"),
  severity: company_field("Severity", "list", trackers: [bug], projects: [acme], is_required: true,
                                               possible_values: %w[S1 S2 S3 S4], default_value: "S3"),
  components: company_field("Components", "list", trackers: all_three, projects: [acme], multiple: true,
                                                   possible_values: %w[API Web Mobile Billing]),
  environment: company_field("Environment", "enumeration", trackers: all_three, projects: [acme]),
  reviewer: company_field("Reviewer", "user", trackers: [bug, feature], projects: [acme]),
  release: company_field("Target release", "version", trackers: all_three, projects: [acme]),
  cost: company_field("Internal cost", "float", trackers: all_three, projects: [acme], visible: false,
                                                 role_ids: [manager.id]),
}
%w[Production Staging Test].each_with_index do |name, position|
  fields[:environment].enumerations.find_by(name: name) ||
    fields[:environment].enumerations.create!(name: name, position: position + 1, active: true)
end

# Developers may not set Private while a ticket is New (Redmine drops it without a word), and must name a
# Reviewer on a Bug they move to Resolved.
new_status = IssueStatus.find_by_name!("New")
resolved = IssueStatus.find_by_name!("Resolved")
all_three.each do |tracker|
  WorkflowPermission.find_or_create_by!(tracker: tracker, role: developer, old_status: new_status,
                                        field_name: "is_private") { |rule| rule.rule = "readonly" }
end
WorkflowPermission.find_or_create_by!(tracker: bug, role: developer, old_status: resolved,
                                      field_name: fields[:reviewer].id.to_s) { |rule| rule.rule = "required" }
# ...and give a Review date to every Feature they create (a rule only Redmine's answer tells the bridge).
WorkflowPermission.find_or_create_by!(tracker: feature, role: developer, old_status: new_status,
                                      field_name: fields[:review].id.to_s) { |rule| rule.rule = "required" }

def company_issue(project, author, subject, tracker, values, assignee: nil)
  issue = Issue.find_by(project: project, subject: subject) || Issue.new(project: project, subject: subject)
  issue.tracker = tracker
  issue.author = author
  issue.assigned_to = assignee
  issue.custom_field_values = values
  issue.save!
  issue
end

acme_bug = company_issue(acme, alice, "Seeded: printer jams in acme", bug,
                         { fields[:customer].id => "Initech", fields[:severity].id => "S2",
                           fields[:cost].id => "1200.5" }, assignee: bob)
handbook_issue = seed_issue(handbook, alice, "Seeded: handbook issue")
intranet_issue = seed_issue(intranet, alice, "Seeded: intranet issue")

puts "SEED_JSON=" + JSON.generate(SEED.merge(
  company: {
    projects: { acme: acme.id, handbook: handbook.id, intranet: intranet.id },
    issues: { acme_bug: acme_bug.id, handbook: handbook_issue.id, intranet: intranet_issue.id },
    fields: fields.transform_values(&:id),
    versions: versions.map(&:id),
    group: team.id,
    roles: { outsider: outsider.id, developer: developer.id },
  },
))
