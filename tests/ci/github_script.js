// A stand-in for actions/github-script: runs the step's `script` with `github`, `context`,
// `core` and `require`, as the action does, against the fake github.com of tests/ci
// (fake_github.py's state.json): issue comments and pull requests.
//
//   node github_script.js SCRIPT_FILE      (FAKE_GITHUB, GITHUB_REPOSITORY, GITHUB_EVENT_PATH)
"use strict";
const fs = require("fs");
const path = require("path");

const statePath = path.join(process.env.FAKE_GITHUB, "state.json");
const load = () => JSON.parse(fs.readFileSync(statePath, "utf8"));
const save = (state) => fs.writeFileSync(statePath, JSON.stringify(state, null, 2));
const [owner, repo] = process.env.GITHUB_REPOSITORY.split("/");
const BOT = { login: "github-actions[bot]" };

function mustBeThis(params) {
  if (params.owner !== owner || params.repo !== repo) {
    throw new Error(`not this repository: ${params.owner}/${params.repo}`);
  }
}

const github = {
  rest: {
    issues: {
      async listComments(params) {
        mustBeThis(params);
        const all = load().comments.filter((c) => c.issue_number === params.issue_number);
        const per = params.per_page || 30;
        const page = params.page || 1;
        return { data: all.slice((page - 1) * per, page * per) };
      },
      async createComment(params) {
        mustBeThis(params);
        const state = load();
        const comment = {
          id: 5000 + state.comments.length + 1,
          issue_number: params.issue_number,
          user: BOT,
          body: params.body,
        };
        state.comments.push(comment);
        save(state);
        return { data: comment };
      },
      async updateComment(params) {
        mustBeThis(params);
        const state = load();
        const comment = state.comments.find((c) => c.id === params.comment_id);
        if (!comment) throw new Error(`no comment ${params.comment_id}`);
        comment.body = params.body;
        save(state);
        return { data: comment };
      },
    },
    pulls: {
      async get(params) {
        mustBeThis(params);
        const pr = load().pulls.find((p) => p.number === params.pull_number);
        if (!pr) throw new Error(`Not Found: pull ${params.pull_number}`);
        return { data: pr };
      },
    },
  },
  // Every page of a list method, as octokit's paginate does.
  async paginate(method, params) {
    const found = [];
    for (let page = 1; ; page++) {
      const { data } = await method({ ...params, page });
      found.push(...data);
      if (data.length < (params.per_page || 30)) return found;
    }
  },
};

const event = JSON.parse(fs.readFileSync(process.env.GITHUB_EVENT_PATH, "utf8"));
const context = {
  payload: event,
  eventName: process.env.GITHUB_EVENT_NAME,
  sha: process.env.GITHUB_SHA,
  repo: { owner, repo },
  issue: { owner, repo, number: (event.pull_request || event.issue || {}).number },
};
let failed = false;
const core = {
  setFailed(message) {
    failed = true;
    console.log(`::error::${message}`);
  },
  notice: (message) => console.log(`::notice::${message}`),
  warning: (message) => console.log(`::warning::${message}`),
  info: (message) => console.log(message),
};

const body = fs.readFileSync(process.argv[2], "utf8");
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction("require", "github", "context", "core", body)(require, github, context, core)
  .then(() => process.exit(failed ? 1 : 0))
  .catch((error) => {
    console.log(`::error::Unhandled error: ${error}`);
    process.exit(1);
  });
