# Seeds a known data set for the bridge's tests and demo. Safe to run again:
# every record is found or created by a stable key.
require "json"

Setting.rest_api_enabled = "1"
# No mail here: Redmine's mail jobs, failing without a mail server, held SQLite's lock for 30 s and more,
# which stalled concurrent creates and the next seed.
Setting.notified_events = []
Setting.default_language = "en"
# Attachments up to 1 MB, below the setting's default (5120 KB): the tests see the bridge read Redmine's own
# limit rather than assume the default.
Setting.attachment_max_size = "1024"
Redmine::DefaultData::Loader.load("en") if Tracker.count.zero?

def seed_user(login, first, last, locked: false)
  user = User.find_by_login(login) || User.new
  user.login = login
  user.firstname = first
  user.lastname = last
  user.mail = "#{login}@example.org"
  user.language = "en"
  user.password = user.password_confirmation = "#{login}-password"
  user.status = locked ? User::STATUS_LOCKED : User::STATUS_ACTIVE
  user.must_change_passwd = false
  user.save!
  user
end

def seed_project(identifier, name, is_public:)
  project = Project.find_by_identifier(identifier) || Project.new(identifier: identifier)
  project.name = name
  project.is_public = is_public
  project.trackers = Tracker.sorted.to_a
  project.enabled_module_names = %w[issue_tracking time_tracking wiki news]
  project.save!
  project
end

def seed_member(project, user, role_name)
  role = Role.find_by_name!(role_name)
  member = Member.find_by(project: project, user: user) || Member.new(project: project, user: user)
  member.role_ids = [role.id]
  member.save!
end

def seed_issue(project, author, subject, assignee: nil, is_private: false)
  issue = Issue.find_by(project: project, subject: subject) || Issue.new(project: project, subject: subject)
  issue.tracker ||= project.trackers.first
  issue.author = author
  issue.assigned_to = assignee
  issue.is_private = is_private
  issue.save!
  issue
end

admin = User.find_by_login("admin")
admin.must_change_passwd = false
admin.password = admin.password_confirmation = "admin-password"
admin.save!

alice = seed_user("alice", "Alice", "Anders")
bob = seed_user("bob", "Bob", "Brown")
carol = seed_user("carol", "Carol", "Clark")
dave = seed_user("dave", "Dave", "Locked", locked: true)
# frank is in no operator map: he links himself. The twins share one address, which Redmine's own
# validation forbids but an import or a direct database edit can leave behind: never matched.
frank = seed_user("frank", "Frank", "Free")
twins = %w[twin1 twin2].map { |login| seed_user(login, login.capitalize, "Twin") }
twins.each { |twin| EmailAddress.where(user_id: twin.id).update_all(address: "twins@example.org") }

demo = seed_project("demo", "Demo", is_public: true)
secret = seed_project("secret", "Secret", is_public: false)
ops = seed_project("ops", "Operations", is_public: true)

seed_member(demo, alice, "Manager")
seed_member(demo, bob, "Developer")
seed_member(demo, carol, "Reporter")
seed_member(demo, dave, "Developer")
seed_member(secret, alice, "Developer")
seed_member(ops, carol, "Manager")
seed_member(demo, frank, "Developer")

public_issue = seed_issue(demo, alice, "Seeded: public issue in demo", assignee: bob)
secret_issue = seed_issue(secret, alice, "Seeded: issue in the private project", assignee: alice)
private_issue = seed_issue(demo, alice, "Seeded: private issue in demo", assignee: alice, is_private: true)

# Saved issue queries: a public one in demo (its members may use it) and a private one of alice's.
def seed_query(name, user, project, visibility, filters)
  query = IssueQuery.find_by(name: name, user_id: user.id) || IssueQuery.new(name: name)
  query.user = user
  query.project = project
  query.visibility = visibility
  query.filters = filters
  query.sort_criteria = [%w[updated_on desc]]
  query.save!
  query
end
open_bugs = seed_query("Open bugs in demo", alice, demo, Query::VISIBILITY_PUBLIC,
                       "status_id" => { operator: "o", values: [""] },
                       "tracker_id" => { operator: "=", values: [Tracker.find_by_name("Bug").id.to_s] })
alices_own = seed_query("Mine, any status", alice, nil, Query::VISIBILITY_PRIVATE,
                        "status_id" => { operator: "*", values: [""] },
                        "assigned_to_id" => { operator: "=", values: ["me"] })

SEED = {
  admin_key: admin.api_key,
  non_admin_key: alice.api_key,
  redmine_version: Redmine::VERSION.to_s,
  issues: { public: public_issue.id, secret: secret_issue.id, private: private_issue.id },
  users: { alice: alice.id, bob: bob.id, carol: carol.id, dave: dave.id, frank: frank.id },
  frank_key: frank.api_key,
  queries: { open_bugs: open_bugs.id, alices_own: alices_own.id },
}
# seed_company.rb loads this file first, then adds its own records and prints the whole.
puts "SEED_JSON=" + JSON.generate(SEED) unless defined?(COMPANY_SEED)
