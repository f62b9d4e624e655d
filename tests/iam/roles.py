#!/usr/bin/env python3
"""Each function's IAM policy as deployed, made into roles on a moto server.

Translates infra/template.yaml with SAM's own translator (samtranslator, installed with the SAM
CLI), resolves the intrinsic functions for the test's parameters, and for every Lambda function
collects the statements of its role (inline policies and the stack's own managed policies; the
AWS managed ones grant logs, X-Ray and VPC networking, which no handler calls). Then, on the
moto server at --endpoint, it creates one role per function and assumes it:

* S3 statements are given to moto as written: moto checks S3 actions on the bucket and key.
* For every other service moto only checks the action against resource "*", so the role gets
  the same actions on "*"; the test checks the resources itself, against the statements printed
  here, from the calls it recorded.

--without FUNCTION:SID also makes a role "FUNCTION-without-SID" lacking that statement. Finally
it turns on moto's IAM enforcement and prints JSON: per role its credentials and statements,
and "admin" credentials for the test's own setup and checks.
"""

import argparse
import copy
import json
import os
import sys
import urllib.request

import boto3
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ACCOUNT = "123456789012"
REGION = "us-east-1"
NO_VALUE = object()


class ManagedPolicies:
    """SAM asks for the ARNs of AWS managed policies it may attach; the names are enough."""

    def load(self):
        names = [
            "AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess",
            "AWSXRayDaemonWriteAccess",
            "AWSLambdaVPCAccessExecutionRole",
            "AWSLambdaDynamoDBExecutionRole",
        ]
        return {name: f"arn:aws:iam::aws:policy/{name}" for name in names}


def translate(template_path):
    template = yaml_parse(open(template_path, encoding="utf-8").read())
    base = os.path.dirname(os.path.abspath(template_path))
    # What `sam package` does before the transform: code in S3, the definition inline.
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://artifacts/code.zip"
        if isinstance(props.get("DefinitionUri"), str):
            with open(os.path.join(base, props.pop("DefinitionUri")), encoding="utf-8") as f:
                props["Definition"] = json.load(f)
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return transform(template, {}, ManagedPolicies())


class Resolver:
    def __init__(self, template, parameters, physical):
        self.template = template
        self.parameters = {}
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default", ""))
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [v for v in value.split(",")] if value else [""]
            self.parameters[name] = value
        self.physical = physical
        self.conditions = {}

    def ref(self, name):
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::StackName": "daybook",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]["Ref"]
        return f"{name}-physical-id"

    def get_att(self, name, attribute):
        known = self.physical.get(name, {})
        if attribute in known:
            return known[attribute]
        return f"arn:aws:test:{REGION}:{ACCOUNT}:{name}/{attribute}"

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = self.value(self.template["Conditions"][name])
        return self.conditions[name]

    def sub(self, text, variables):
        out, i = "", 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out += text[i:]
                break
            out += text[i:start]
            end = text.index("}", start)
            name = text[start + 2 : end]
            if name.startswith("!"):
                out += "${" + name[1:] + "}"
            elif name in variables:
                out += str(variables[name])
            elif "." in name:
                out += str(self.get_att(*name.split(".", 1)))
            else:
                out += str(self.ref(name))
            i = end + 1
        return out

    def value(self, node):
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(*parts)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    variables = {k: self.value(v) for k, v in arg[1].items()}
                    return self.sub(arg[0], variables)
                return self.sub(arg, {})
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Join":
                return arg[0].join(str(v) for v in self.value(arg[1]))
            if key == "Fn::Split":
                return self.value(arg[1]).split(arg[0])
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}


def function_statements(template, resolver, kind="AWS::Lambda::Function", role_property="Role"):
    """{function logical id: [statement, ...]} for every Lambda function (or, with `kind` and
    `role_property`, every resource of another kind that runs with a role)."""
    resources = template["Resources"]
    out = {}
    for name, resource in resources.items():
        if resource["Type"] != kind:
            continue
        role_ref = resource["Properties"][role_property]
        role_name = role_ref["Fn::GetAtt"][0]
        role = resources[role_name]["Properties"]
        statements = []
        for policy in resolver.value(role.get("Policies", [])):
            statements += as_list(policy["PolicyDocument"]["Statement"])
        for arn in role.get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and "Ref" in arn and arn["Ref"] in resources:
                document = resolver.value(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
                statements += as_list(document["Statement"])
        out[name] = statements
    return out


def as_list(value):
    return value if isinstance(value, list) else [value]


def actions_of(statement):
    return [a for a in as_list(statement.get("Action", [])) if a]


def moto_policy(statements):
    """What moto can check: S3 as written; every other service's actions on "*"."""
    kept = []
    for statement in statements:
        s3 = [a for a in actions_of(statement) if a.lower().startswith("s3:")]
        other = [a for a in actions_of(statement) if not a.lower().startswith("s3:")]
        if s3:
            kept.append({"Effect": "Allow", "Action": s3, "Resource": as_list(statement["Resource"])})
        if other:
            kept.append({"Effect": "Allow", "Action": other, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": kept}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--template", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--parameters", default="{}", help="template parameters, JSON")
    parser.add_argument("--physical", default="{}", help="resource ids and attributes, JSON")
    parser.add_argument("--without", action="append", default=[])
    parser.add_argument(
        "--state-machines",
        action="store_true",
        help="print each state machine's statements, as SAM translates them, and make no roles",
    )
    args = parser.parse_args()

    template = translate(args.template)
    resolver = Resolver(template, json.loads(args.parameters), json.loads(args.physical))
    if args.state_machines:
        machines = function_statements(
            template, resolver, "AWS::StepFunctions::StateMachine", "RoleArn"
        )
        print(json.dumps(machines))
        return
    roles = {}
    for logical, statements in function_statements(template, resolver).items():
        roles[logical] = statements
    for spec in args.without:
        function, sid = spec.split(":", 1)
        kept = [s for s in roles[function] if s.get("Sid") != sid]
        if len(kept) == len(roles[function]):
            sys.exit(f"{function} has no statement {sid}")
        roles[f"{function}-without-{sid}"] = kept

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    iam = session.client("iam", endpoint_url=args.endpoint)
    sts = session.client("sts", endpoint_url=args.endpoint)
    trust = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    })
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    out = {"roles": {}}
    for name, statements in list(roles.items()) + [("admin", None)]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        document = admin if statements is None else moto_policy(statements)
        iam.put_role_policy(RoleName=name, PolicyName="policy", PolicyDocument=json.dumps(document))
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", RoleSessionName=name
        )["Credentials"]
        entry = {
            "access_key_id": credentials["AccessKeyId"],
            "secret_access_key": credentials["SecretAccessKey"],
            "session_token": credentials["SessionToken"],
        }
        if statements is None:
            out["admin"] = entry
        else:
            entry["statements"] = statements
            out["roles"][name] = entry
    # From here on every request needs credentials that its policy allows.
    request = urllib.request.Request(
        args.endpoint + "/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request).read()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
